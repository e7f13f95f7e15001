"""The one artifact repository interface, as clients and the server's proxy use it (local storage)."""

from __future__ import annotations

import os

import pytest

from labkeep.artifacts import get_artifact_repository
from labkeep.artifacts.local import LocalArtifactRepository
from labkeep.artifacts.paths import safe_relative_path, safe_request_path
from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    return LocalArtifactRepository(str(root))


def test_server_operations_round_trip(repo, tmp_path):
    repo.write_bytes(b"hello", "d/e/f.txt")
    assert repo.kind("d") == "dir" and repo.kind("d/e/f.txt") == "file" and repo.kind("nope") is None
    assert repo.size("d/e/f.txt") == 5 and repo.read_bytes("d/e/f.txt") == b"hello"
    assert [(f.path, f.is_dir) for f in repo.list_dir("d") or []] == [("e", True)]
    assert repo.list_dir("d/e/f.txt") is None  # a file is not a directory
    tmp = repo.temp_file_for("d/up.bin")
    with open(tmp, "wb") as fh:
        fh.write(b"uploaded")
    # the upload in progress sits next to its destination but is never listed
    assert [f.path for f in repo.list_artifacts("d")] == ["d/e"]
    repo.save_file("d/up.bin", tmp)
    assert not os.path.exists(tmp)
    assert [f.path for f in repo.list_artifacts("d")] == ["d/e", "d/up.bin"]
    assert b"".join(repo.iter_bytes("d/up.bin", chunk=3)) == b"uploaded"
    assert repo.local_path("d/up.bin") == os.path.join(os.path.realpath(repo.root), "d", "up.bin")


def test_saving_over_a_directory_is_refused(repo):
    repo.write_bytes(b"x", "dir/a.txt")
    tmp = repo.temp_file_for("dir")
    with pytest.raises(InvalidParameterValue, match="is a directory"):
        repo.save_file("dir", tmp)
    assert not os.path.exists(tmp)


def test_delete_missing_and_root(repo):
    repo.delete_artifacts("missing.txt")  # clients: nothing there is fine
    with pytest.raises(ResourceDoesNotExist):
        repo.delete_artifacts("missing.txt", missing_ok=False)  # the proxy answers 404
    repo.write_bytes(b"1", "a.txt")
    repo.write_bytes(b"2", "b/c.txt")
    repo.delete_artifacts()
    assert os.path.isdir(repo.root) and os.listdir(repo.root) == []


@pytest.mark.parametrize(
    "op",
    [
        lambda r: r.kind("link/x"),
        lambda r: r.list_dir("link"),
        lambda r: r.iter_bytes("link/secret.txt"),
        lambda r: r.temp_file_for("link/new.txt"),
        lambda r: r.write_bytes(b"pwned", "link/new.txt"),
        lambda r: r.delete_artifacts("link/secret.txt"),
        lambda r: r.download_artifacts("link/secret.txt"),
    ],
)
def test_symlinks_out_of_the_root_are_refused_by_every_operation(repo, tmp_path, op):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    os.symlink(outside, os.path.join(repo.root, "link"))
    with pytest.raises(InvalidParameterValue, match="outside the artifact root"):
        op(repo)
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "secret"


def test_multipart_is_refused_where_storage_has_none(repo):
    assert repo.supports_multipart is False
    with pytest.raises(Exception, match="does not support multipart") as e:
        repo.create_multipart_upload("a.bin", 2)
    assert e.value.error_code == "NOT_IMPLEMENTED"


def test_program_paths_and_request_paths():
    # a file name may contain '%' when a program names it; a request path may not (already decoded once)
    assert safe_relative_path("a%20b.txt") == "a%20b.txt"
    with pytest.raises(InvalidParameterValue, match="^Invalid path$"):
        safe_request_path("a%20b.txt")
    for bad in ("../x", "%2e%2e/x", "/etc/passwd", "a\\b", "a?b"):
        with pytest.raises(InvalidParameterValue):
            safe_relative_path(bad)
        with pytest.raises(InvalidParameterValue):
            safe_request_path(bad)
    assert safe_request_path("./a//") == "a" and safe_relative_path("./a/b") == "a/b"


def test_server_destination_is_a_repository(tmp_path):
    from labkeep.server.settings import ServerSettings
    from labkeep.server.stores import open_stores

    dest = tmp_path / "artifacts"
    settings = ServerSettings(
        backend_store_uri=f"sqlite:///{tmp_path}/lk.db", artifacts_destination=f"file://{dest}"
    )
    tracking, registry, artifacts = open_stores(settings)
    try:
        assert isinstance(artifacts, LocalArtifactRepository) and artifacts.root == str(dest)
        assert registry.db is tracking.db  # one database for both on the same URI
        s3 = get_artifact_repository("s3://bucket/prefix")
        assert s3.supports_multipart and type(s3).__name__ == "S3ArtifactRepository"
    finally:
        tracking.close()
