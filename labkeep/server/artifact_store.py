"""Where the server keeps proxied artifact bytes: a local directory or an S3 prefix.

Every method takes a *relative* path that has already been checked with
``common.safe_relative_path``; the local store re-checks confinement after resolving symlinks.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

from labkeep.entities import FileInfo
from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.server.api.common import is_inside


class LocalArtifactStore:
    """Artifacts under one local directory."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)

    def full_path(self, rel: str) -> str:
        full = os.path.join(self.root, *[p for p in rel.split("/") if p])
        if not is_inside(full, self.root):
            raise InvalidParameterValue(f"Artifact path {rel!r} resolves outside the artifact root.")
        return full

    def kind(self, rel: str) -> str | None:
        full = self.full_path(rel)
        if os.path.isdir(full):
            return "dir"
        if os.path.isfile(full):
            return "file"
        return None

    def list_dir(self, rel: str) -> list[FileInfo] | None:
        full = self.full_path(rel)
        if not os.path.isdir(full):
            return None
        out = []
        with os.scandir(full) as it:
            for entry in sorted(it, key=lambda e: e.name):
                if entry.name.startswith(".labkeep-upload-"):
                    continue
                if entry.is_dir():
                    out.append(FileInfo(entry.name, True))
                else:
                    out.append(FileInfo(entry.name, False, entry.stat().st_size))
        return out

    def temp_file_for(self, rel: str) -> str:
        """A temp file next to the destination, so saving is an atomic rename."""
        import tempfile

        dest = self.full_path(rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".labkeep-upload-", dir=os.path.dirname(dest))
        os.close(fd)
        return tmp

    def save_file(self, rel: str, tmp_path: str) -> None:
        dest = self.full_path(rel)
        if os.path.isdir(dest):
            raise InvalidParameterValue(f"Artifact path {rel!r} is a directory.")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.replace(tmp_path, dest)

    def size(self, rel: str) -> int:
        return os.path.getsize(self.full_path(rel))

    def local_path(self, rel: str) -> str | None:
        return self.full_path(rel)

    def iter_bytes(self, rel: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        with open(self.full_path(rel), "rb") as f:
            while data := f.read(chunk):
                yield data

    def delete(self, rel: str) -> None:
        full = self.full_path(rel)
        if os.path.isdir(full):
            if full == self.root:
                for name in os.listdir(full):
                    self.delete(name)
                return
            shutil.rmtree(full)
        elif os.path.exists(full):
            os.remove(full)
        else:
            raise ResourceDoesNotExist(f"No artifact at {rel!r}.")


class S3ArtifactStore:
    """Artifacts under ``s3://bucket/prefix`` (boto3 lives in ``labkeep.artifacts.s3``)."""

    def __init__(self, uri: str) -> None:
        from labkeep.artifacts.s3 import S3ArtifactRepository

        self.repo = S3ArtifactRepository(uri)

    def kind(self, rel: str) -> str | None:
        return self.repo.kind(rel)

    def list_dir(self, rel: str) -> list[FileInfo] | None:
        if self.repo.kind(rel) != "dir":
            return None
        return [
            FileInfo(f.path.rsplit("/", 1)[-1], f.is_dir, f.file_size) for f in self.repo.list_artifacts(rel)
        ]

    def temp_file_for(self, rel: str) -> str:
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix="labkeep-upload-")
        os.close(fd)
        return tmp

    def save_file(self, rel: str, tmp_path: str) -> None:
        try:
            self.repo.upload_file(tmp_path, rel)
        finally:
            os.remove(tmp_path)

    def size(self, rel: str) -> int:
        return self.repo.size(rel)

    def local_path(self, rel: str) -> str | None:
        return None

    def iter_bytes(self, rel: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        return self.repo.iter_bytes(rel, chunk)

    def delete(self, rel: str) -> None:
        self.repo.delete_artifacts(rel or None)

    supports_multipart = True

    def create_multipart_upload(self, rel: str, num_parts: int) -> tuple[str, list[dict]]:
        return self.repo.create_multipart_upload(rel, num_parts)

    def complete_multipart_upload(self, rel: str, upload_id: str, parts: list[dict]) -> None:
        self.repo.complete_multipart_upload(rel, upload_id, parts)

    def abort_multipart_upload(self, rel: str, upload_id: str) -> None:
        self.repo.abort_multipart_upload(rel, upload_id)


def open_artifact_store(destination: str) -> Any:
    """The store for ``--artifacts-destination`` (a directory, ``file://`` URI or ``s3://`` URI)."""
    if destination.startswith("s3://"):
        return S3ArtifactStore(destination)
    if destination.startswith("file://"):
        from urllib.parse import unquote, urlparse

        destination = unquote(urlparse(destination).path)
    return LocalArtifactStore(destination)
