import os

import pytest

from labkeep.projects.errors import ProjectError
from labkeep.projects.sources import fetch_project, split_subdir

from .helpers import git, init_repo, write


@pytest.fixture
def repo(tmp_path):
    """A real git repository: v1 on main (tagged), v2 on branch 'feature', a project in sub/proj."""
    root = tmp_path / "repo"
    write(root / "sub/proj/MLproject", "entry_points:\n  main:\n    command: python t.py\n")
    write(root / "sub/proj/VERSION", "v1\n")
    first = init_repo(root)
    git(root, "tag", "v1.0")
    git(root, "checkout", "-q", "-b", "feature")
    write(root / "sub/proj/VERSION", "v2\n")
    git(root, "commit", "-qam", "second")
    second = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "main")
    return root, first, second


def _version_file(source):
    with open(os.path.join(source.directory, "VERSION")) as fh:
        return fh.read().strip()


def test_local_folder_in_git_repo_used_in_place(repo):
    root, first, _ = repo
    source = fetch_project(str(root / "sub/proj"))
    assert source.directory == os.path.realpath(root / "sub/proj")
    assert source.git_commit == first and source.git_branch == "main"
    assert source.source_name == f"file://{os.path.realpath(root / 'sub/proj')}"  # no remote
    source.cleanup()
    assert os.path.isdir(root)  # never removes a local project


def test_local_repo_with_subdir_fragment(repo):
    root, first, _ = repo
    source = fetch_project(f"{root}#sub/proj")
    assert _version_file(source) == "v1" and source.git_commit == first


@pytest.mark.parametrize("version, expected, branch", [("feature", "v2", "feature"), ("v1.0", "v1", None)])
def test_file_url_with_version_branch_or_tag(repo, version, expected, branch):
    root, first, second = repo
    source = fetch_project(f"file://{root}#sub/proj", version=version)
    try:
        assert _version_file(source) == expected
        assert source.git_commit == (second if expected == "v2" else first)
        assert source.git_branch == branch
        assert source.source_name == f"file://{root}#sub/proj"
        assert source.git_repo_url == f"file://{root}"
        clone = source._temp_dirs[0]
        assert not clone.startswith(str(root))
    finally:
        source.cleanup()
    assert not os.path.exists(clone)


def test_local_repo_with_commit_version_uses_a_clone(repo):
    root, _, second = repo
    source = fetch_project(str(root / "sub/proj"), version=second)
    try:
        assert _version_file(source) == "v2" and source.git_commit == second
        assert (root / "sub/proj/VERSION").read_text().strip() == "v1"  # working tree untouched
    finally:
        source.cleanup()


def test_remote_url_recorded_as_source_name(repo, tmp_path):
    root, first, _ = repo
    git(root, "remote", "add", "origin", "https://example.invalid/team/repo.git")
    source = fetch_project(str(root / "sub/proj"))
    assert source.source_name == "https://example.invalid/team/repo.git#sub/proj"
    assert source.git_repo_url == "https://example.invalid/team/repo.git"


def test_errors(repo, tmp_path):
    root, _, _ = repo
    with pytest.raises(ProjectError, match="not found"):
        fetch_project(f"file://{root}", version="no-such-rev")
    with pytest.raises(ProjectError, match="does not exist"):
        fetch_project(f"{root}#missing/dir")
    with pytest.raises(ProjectError, match="relative path"):
        split_subdir(f"{root}#../escape")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ProjectError, match="needs a git repository"):
        fetch_project(str(plain), version="main")
    with pytest.raises(ProjectError, match="neither a local folder"):
        fetch_project(str(tmp_path / "nothing-here"))
