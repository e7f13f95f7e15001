"""Where a project's files come from: a local folder, a local git repository or a git URL.

``URI#subdir`` selects a folder inside the repository; ``version`` checks out a commit, branch or
tag (in a temporary clone, so a local working tree is never touched).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

from labkeep.projects.errors import ProjectError

_GIT_URL_RE = re.compile(r"^(https?|git|ssh|git\+ssh|git\+https?)://|^[\w.\-]+@[\w.\-]+:")


@dataclass
class ProjectSource:
    """A project checked out on local disk plus the provenance to record on the run."""

    directory: str
    source_name: str
    git_commit: str | None = None
    git_branch: str | None = None
    git_repo_url: str | None = None
    _temp_dirs: list[str] = field(default_factory=list, repr=False)

    def cleanup(self) -> None:
        """Remove any temporary clone made for this source."""
        for path in self._temp_dirs:
            shutil.rmtree(path, ignore_errors=True)
        self._temp_dirs.clear()


def split_subdir(uri: str) -> tuple[str, str]:
    """``"repo#a/b"`` -> ``("repo", "a/b")``."""
    base, _, subdir = uri.partition("#")
    subdir = subdir.strip("/")
    parts = [p for p in subdir.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts) or os.path.isabs(subdir):
        raise ProjectError(
            f"Subdirectory {subdir!r} in {uri!r} must be a relative path inside the repository."
        )
    return base, "/".join(parts)


def _git(args: list[str], cwd: str | None = None, check: bool = True) -> str | None:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="/bin/true", LC_ALL="C")
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        if check:
            raise ProjectError("git is not installed; it is needed to fetch this project.")
        return None
    if proc.returncode != 0:
        if check:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise ProjectError(
                f"git {args[0]} failed: {detail[-1] if detail else 'exit ' + str(proc.returncode)}"
            )
        return None
    return proc.stdout.strip()


def _is_git_url(base: str) -> bool:
    if _GIT_URL_RE.match(base):
        return True
    if base.startswith("file://"):
        return True
    return False


def _local_path(base: str) -> str:
    if base.startswith("file://"):
        return base[len("file://") :]
    return os.path.expanduser(base)


def _work_tree_root(path: str) -> str | None:
    return _git(["rev-parse", "--show-toplevel"], cwd=path, check=False) or None


def _is_repo_root(path: str) -> bool:
    if _git(["rev-parse", "--is-bare-repository"], cwd=path, check=False) == "true":
        return True
    root = _work_tree_root(path)
    return root is not None and os.path.realpath(root) == os.path.realpath(path)


def _inspect_git(path: str) -> tuple[str | None, str | None, str | None]:
    """(commit, branch, remote URL) of the work tree containing ``path``."""
    commit = _git(["rev-parse", "HEAD"], cwd=path, check=False) or None
    branch = _git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=path, check=False) or None
    remote = _git(["remote", "get-url", "origin"], cwd=path, check=False) or None
    return commit, branch, remote


def _select_subdir(root: str, subdir: str, uri: str) -> str:
    directory = os.path.realpath(os.path.join(root, subdir)) if subdir else os.path.realpath(root)
    if not os.path.isdir(directory):
        raise ProjectError(f"Subdirectory {subdir!r} does not exist in {uri!r}.")
    return directory


def fetch_project(uri: str, version: str | None = None) -> ProjectSource:
    """Make the project at ``uri`` available on local disk.

    A local folder is used in place; a git URL, or a local repository with ``version``, is cloned
    into a temporary directory (removed by :meth:`ProjectSource.cleanup`).
    """
    base, subdir = split_subdir(uri)
    local = _local_path(base)
    is_local_dir = os.path.isdir(local)
    if is_local_dir and base.startswith("file://") and _is_repo_root(local):
        # A file:// URL of a repository behaves like any git URL: a clean clone of committed files.
        return _clone(uri, base, subdir, version, repo_url=base)
    if is_local_dir and version is None:
        return _use_local(uri, local, subdir)
    if is_local_dir:
        root = _work_tree_root(local)
        if root is None:
            raise ProjectError(f"--version {version} needs a git repository, but {local} is not inside one.")
        clone_from = os.path.realpath(root)
        # A folder inside a repository: keep its position relative to the repository root.
        inner = os.path.relpath(os.path.realpath(local), clone_from)
        subdir = "/".join(p for p in [inner if inner != "." else "", subdir] if p)
        return _clone(
            uri, clone_from, subdir, version, repo_url=_inspect_git(clone_from)[2] or f"file://{clone_from}"
        )
    if _is_git_url(base):
        return _clone(uri, base, subdir, version, repo_url=base)
    raise ProjectError(
        f"Project {uri!r} is neither a local folder nor a git URL (https://, ssh://, git@, file://)."
    )


def _use_local(uri: str, local: str, subdir: str) -> ProjectSource:
    directory = _select_subdir(local, subdir, uri)
    root = _work_tree_root(directory)
    if root is None:
        return ProjectSource(directory=directory, source_name=f"file://{directory}")
    commit, branch, remote = _inspect_git(directory)
    if remote:
        rel = os.path.relpath(directory, os.path.realpath(root))
        source_name = remote if rel == "." else f"{remote}#{rel}"
    else:
        source_name = f"file://{directory}"
    return ProjectSource(
        directory=directory,
        source_name=source_name,
        git_commit=commit,
        git_branch=branch,
        git_repo_url=remote,
    )


def _clone(uri: str, url: str, subdir: str, version: str | None, repo_url: str) -> ProjectSource:
    tmp = tempfile.mkdtemp(prefix="labkeep-project-")
    source = ProjectSource(directory=tmp, source_name=uri)
    source._temp_dirs.append(tmp)
    try:
        _git(["clone", "--quiet", "--no-checkout", url, tmp])
        branch = None
        if version:
            if _git(
                ["rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{version}"], cwd=tmp, check=False
            ):
                branch = version
                _git(["checkout", "--quiet", "-B", version, f"origin/{version}"], cwd=tmp)
            else:
                if (
                    _git(["rev-parse", "--verify", "--quiet", f"{version}^{{commit}}"], cwd=tmp, check=False)
                    is None
                ):
                    raise ProjectError(f"Version {version!r} (commit, branch or tag) not found in {url}.")
                _git(["checkout", "--quiet", "--detach", version], cwd=tmp)
        else:
            _git(["checkout", "--quiet"], cwd=tmp)
            branch = _git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=tmp, check=False) or None
        source.git_commit = _git(["rev-parse", "HEAD"], cwd=tmp)
        source.git_branch = branch
        source.git_repo_url = repo_url
        source.directory = _select_subdir(tmp, subdir, uri)
        return source
    except BaseException:
        source.cleanup()
        raise
