"""What a new run records about where it came from: user, source, git state."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys

from labkeep import config
from labkeep.entities import SourceType


def default_user() -> str:
    user = config.TRACKING_USERNAME.get()
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def _source_name() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path:
        return os.path.abspath(path)
    return sys.argv[0] if sys.argv and sys.argv[0] else "<console>"


def _git(args: list[str], cwd: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_info(path: str) -> dict[str, str]:
    """Commit, branch, remote URL and the uncommitted diff of the git work tree holding ``path``."""
    cwd = path if os.path.isdir(path) else os.path.dirname(path) or "."
    commit = _git(["rev-parse", "HEAD"], cwd)
    if not commit:
        return {}
    info = {"commit": commit}
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd)
    if branch and branch != "HEAD":
        info["branch"] = branch
    remote = _git(["config", "--get", "remote.origin.url"], cwd)
    if remote:
        info["repo_url"] = remote
    diff = _git(["diff", "HEAD"], cwd)
    if diff:
        info["diff"] = diff
    return info


def run_context_tags() -> tuple[dict[str, str], str | None]:
    """Tags for a new run, plus the uncommitted git diff (logged as an artifact) if any."""
    source = _source_name()
    tags = {
        "mlflow.user": default_user(),
        "mlflow.source.name": source,
        "mlflow.source.type": SourceType.LOCAL,
    }
    diff = None
    if not config.DISABLE_GIT_CONTEXT.flag():
        info = git_info(source if os.path.exists(source) else os.getcwd())
        if info.get("commit"):
            tags["mlflow.source.git.commit"] = info["commit"]
        if info.get("branch"):
            tags["mlflow.source.git.branch"] = info["branch"]
        if info.get("repo_url"):
            tags["mlflow.source.git.repoURL"] = info["repo_url"]
        if info.get("diff"):
            tags["mlflow.source.git.dirty"] = "true"
            diff = info["diff"]
    extra = config.RUN_CONTEXT.get()
    if extra:
        try:
            tags.update({str(k): str(val) for k, val in json.loads(extra).items()})
        except (ValueError, AttributeError):
            pass
    return tags, diff
