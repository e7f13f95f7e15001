"""The artifact repository interface: files under one root URI, used by clients and by the server.

A client logs and downloads a run's artifacts through it; the server's artifact proxy serves its
artifacts destination through the same classes (``kind``, ``list_dir``, ``iter_bytes``,
``temp_file_for``/``save_file``, presigned multipart upload where the storage has it). Every path
is relative and '/'-separated and goes through ``labkeep.artifacts.paths`` before it touches storage.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Literal

from labkeep.artifacts.paths import join_relative, safe_relative_path
from labkeep.entities import FileInfo
from labkeep.exceptions import LabkeepException, ResourceDoesNotExist

Kind = Literal["file", "dir"]
CHUNK = 1 << 20
# Prefix of the temporary files an upload writes next to its destination; never listed.
UPLOAD_TEMP_PREFIX = ".labkeep-upload-"


class ArtifactRepository(ABC):
    """Read and write artifacts below ``artifact_uri``.

    Subclasses implement ``upload_file``, ``list_artifacts`` and ``_download_file``; the rest has
    working defaults built on those three, which a subclass overrides where its storage does better.
    """

    #: True when the storage hands out presigned part URLs (``create_multipart_upload``).
    supports_multipart = False

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None) -> None:
        self.artifact_uri = artifact_uri
        self.tracking_uri = tracking_uri

    # ---- the primitives
    @abstractmethod
    def upload_file(self, local_file: str, artifact_file: str) -> None:
        """Store the local file as ``artifact_file`` (a relative path including the file name)."""

    @abstractmethod
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Direct children of ``path``, with paths relative to the root."""

    @abstractmethod
    def _download_file(self, remote_path: str, local_path: str) -> None: ...

    # ---- client operations
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Copy one local file into ``artifact_path`` (a directory) under the root."""
        self.upload_file(
            local_file, join_relative(safe_relative_path(artifact_path), os.path.basename(local_file))
        )

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy a local directory tree into ``artifact_path`` under the root."""
        base = safe_relative_path(artifact_path)
        jobs = []
        for dirpath, _dirs, files in os.walk(local_dir):
            rel_dir = os.path.relpath(dirpath, local_dir)
            sub = "" if rel_dir == "." else "/".join(rel_dir.split(os.sep))
            jobs += [(os.path.join(dirpath, name), join_relative(base, sub, name)) for name in sorted(files)]
        self._upload_many(jobs)

    def _upload_many(self, jobs: list[tuple[str, str]]) -> None:
        """Upload (local file, artifact file) pairs; remote repositories do several at once."""
        for local, rel in jobs:
            self.upload_file(local, rel)

    def download_artifacts(self, artifact_path: str = "", dst_path: str | None = None) -> str:
        """Download a file or directory; return the local path of what was downloaded."""
        rel = safe_relative_path(artifact_path)
        dst_root = os.path.abspath(dst_path) if dst_path else tempfile.mkdtemp(prefix="labkeep-download-")
        os.makedirs(dst_root, exist_ok=True)
        local = os.path.join(dst_root, *rel.split("/")) if rel else dst_root
        if self.kind(rel) == "dir":
            os.makedirs(local, exist_ok=True)
            jobs = [
                (info.path, os.path.join(dst_root, *info.path.split("/"))) for info in self._walk_files(rel)
            ]
        else:  # a missing file fails in _download_file with the storage's own not-found error
            jobs = [(rel, local)]
        for _remote, path in jobs:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        self._download_many(jobs)
        return local

    def _download_many(self, jobs: list[tuple[str, str]]) -> None:
        """Download (artifact file, local path) pairs; remote repositories do several at once."""
        for remote, local in jobs:
            self._download_file(remote, local)

    def _walk_files(self, rel: str) -> list[FileInfo]:
        out: list[FileInfo] = []
        for info in self.list_artifacts(rel or None):
            if info.is_dir:
                out += self._walk_files(info.path)
            else:
                out.append(info)
        return out

    def read_bytes(self, artifact_path: str) -> bytes:
        """The content of one file artifact."""
        return b"".join(self.iter_bytes(artifact_path))

    def write_bytes(self, data: bytes, artifact_file: str) -> None:
        """Store ``data`` as the file ``artifact_file`` (a relative path including the file name)."""
        rel = safe_relative_path(artifact_file)
        tmp = self.temp_file_for(rel)
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
            self.save_file(rel, tmp)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def delete_artifacts(self, artifact_path: str | None = None, missing_ok: bool = True) -> None:
        """Delete a file or a directory tree (the root itself is emptied, not removed)."""
        raise LabkeepException(
            f"{type(self).__name__} does not support deleting artifacts.", "NOT_IMPLEMENTED"
        )

    # ---- what the server's proxy needs (also handy for clients)
    def kind(self, path: str | None) -> Kind | None:
        """``"file"``, ``"dir"`` or None (nothing there) for ``path`` below the root."""
        rel = safe_relative_path(path)
        if not rel:
            return "dir"
        for info in self.list_artifacts(posixpath.dirname(rel) or None):
            if info.path == rel:
                return "dir" if info.is_dir else "file"
        return None

    def list_dir(self, path: str | None) -> list[FileInfo] | None:
        """Children of a directory named by their base names, or None when ``path`` is not a directory."""
        rel = safe_relative_path(path)
        if self.kind(rel) != "dir":
            return None
        return [
            FileInfo(posixpath.basename(f.path), f.is_dir, f.file_size)
            for f in self.list_artifacts(rel or None)
        ]

    def size(self, path: str) -> int:
        """Size in bytes of one file artifact."""
        rel = safe_relative_path(path)
        for info in self.list_artifacts(posixpath.dirname(rel) or None):
            if info.path == rel and not info.is_dir and info.file_size is not None:
                return info.file_size
        raise ResourceDoesNotExist(f"Artifact {rel!r} does not exist.")

    def local_path(self, path: str) -> str | None:
        """The file's path on this machine when the storage is local (served without copying), else None."""
        return None

    def iter_bytes(self, path: str, chunk: int = CHUNK) -> Iterator[bytes]:
        """The file's content in chunks."""
        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, "download")
            self._download_file(safe_relative_path(path), local)
            with open(local, "rb") as fh:
                while data := fh.read(chunk):
                    yield data

    def temp_file_for(self, path: str) -> str:
        """A fresh local file to receive an upload of ``path`` before ``save_file`` stores it."""
        fd, tmp = tempfile.mkstemp(prefix=UPLOAD_TEMP_PREFIX)
        os.close(fd)
        return tmp

    def save_file(self, path: str, tmp_path: str) -> None:
        """Store the temp file from ``temp_file_for`` as ``path``; the temp file is gone afterwards."""
        try:
            self.upload_file(tmp_path, path)
        finally:
            if os.path.exists(tmp_path):
                os.remove(tmp_path)

    # ---- presigned multipart upload (storage that supports it overrides these)
    def create_multipart_upload(
        self, path: str, num_parts: int, expiration: int = 3600
    ) -> tuple[str, list[dict]]:
        """Start a multipart upload of ``path``; return (upload_id, presigned PUT URL per part)."""
        raise self._no_multipart()

    def complete_multipart_upload(self, path: str, upload_id: str, parts: list[dict]) -> None:
        """Assemble the uploaded parts (``part_number`` and ``etag`` each) into ``path``."""
        raise self._no_multipart()

    def abort_multipart_upload(self, path: str, upload_id: str) -> None:
        """Drop an unfinished multipart upload."""
        raise self._no_multipart()

    def _no_multipart(self) -> LabkeepException:
        return LabkeepException(
            f"{type(self).__name__} does not support multipart upload; upload with a single PUT.",
            "NOT_IMPLEMENTED",
        )
