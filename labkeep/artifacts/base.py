"""The artifact repository interface: files under one root URI (a run's or a model's artifacts)."""

from __future__ import annotations

import os
import posixpath
import tempfile
from abc import ABC, abstractmethod

from labkeep.artifacts.paths import safe_relative_path
from labkeep.entities import FileInfo


class ArtifactRepository(ABC):
    """Read and write artifacts below ``artifact_uri``. Paths are relative, '/'-separated."""

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None) -> None:
        self.artifact_uri = artifact_uri
        self.tracking_uri = tracking_uri

    @abstractmethod
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Copy one local file into ``artifact_path`` (a directory) under the root."""

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy a local directory tree into ``artifact_path`` under the root."""
        base = safe_relative_path(artifact_path)
        for dirpath, _dirs, files in os.walk(local_dir):
            rel_dir = os.path.relpath(dirpath, local_dir)
            dest = (
                base
                if rel_dir == "."
                else posixpath.join(base, *rel_dir.split(os.sep))
                if base
                else "/".join(rel_dir.split(os.sep))
            )
            for name in sorted(files):
                self.log_artifact(os.path.join(dirpath, name), dest or None)

    @abstractmethod
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Direct children of ``path``, with paths relative to the root."""

    @abstractmethod
    def _download_file(self, remote_path: str, local_path: str) -> None: ...

    def download_artifacts(self, artifact_path: str = "", dst_path: str | None = None) -> str:
        """Download a file or directory; return the local path of what was downloaded."""
        rel = safe_relative_path(artifact_path)
        dst_root = os.path.abspath(dst_path) if dst_path else tempfile.mkdtemp(prefix="labkeep-download-")
        os.makedirs(dst_root, exist_ok=True)
        if self._is_dir(rel):
            local_dir = os.path.join(dst_root, *rel.split("/")) if rel else dst_root
            os.makedirs(local_dir, exist_ok=True)
            for info in self._walk_files(rel):
                local = os.path.join(dst_root, *info.path.split("/"))
                os.makedirs(os.path.dirname(local), exist_ok=True)
                self._download_file(info.path, local)
            return local_dir
        local = os.path.join(dst_root, *rel.split("/"))
        os.makedirs(os.path.dirname(local), exist_ok=True)
        self._download_file(rel, local)
        return local

    def _is_dir(self, rel: str) -> bool:
        if rel == "":
            return True
        parent = posixpath.dirname(rel)
        for info in self.list_artifacts(parent or None):
            if info.path == rel:
                return info.is_dir
        return False

    def _walk_files(self, rel: str) -> list[FileInfo]:
        out: list[FileInfo] = []
        for info in self.list_artifacts(rel or None):
            if info.is_dir:
                out += self._walk_files(info.path)
            else:
                out.append(info)
        return out

    def read_bytes(self, artifact_path: str) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            local = self.download_artifacts(artifact_path, tmp)
            with open(local, "rb") as fh:
                return fh.read()

    def write_bytes(self, data: bytes, artifact_file: str) -> None:
        """Store ``data`` as the file ``artifact_file`` (a relative path including the file name)."""
        rel = safe_relative_path(artifact_file)
        directory, name = posixpath.split(rel)
        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, name)
            with open(local, "wb") as fh:
                fh.write(data)
            self.log_artifact(local, directory or None)

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        from labkeep.exceptions import LabkeepException

        raise LabkeepException(
            f"{type(self).__name__} does not support deleting artifacts.", "NOT_IMPLEMENTED"
        )
