"""Artifacts on the local filesystem (plain paths and ``file://`` URIs), for clients and the server."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from urllib.parse import unquote, urlparse

from labkeep.artifacts.base import CHUNK, UPLOAD_TEMP_PREFIX, ArtifactRepository, Kind
from labkeep.artifacts.paths import confined_join, join_relative, safe_relative_path
from labkeep.entities import FileInfo
from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist


def local_path_from_uri(uri: str) -> str:
    """The local directory a plain path or ``file://`` URI names."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return os.path.abspath(unquote(parsed.path))
    return os.path.abspath(uri)


class LocalArtifactRepository(ArtifactRepository):
    """Artifacts in one local directory; nothing is read or written outside it (symlinks included)."""

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None) -> None:
        super().__init__(artifact_uri, tracking_uri)
        self.root = local_path_from_uri(artifact_uri)

    def _path(self, rel: str | None) -> str:
        return confined_join(self.root, rel)

    def _missing(self, path: str | None) -> ResourceDoesNotExist:
        return ResourceDoesNotExist(f"Artifact '{path or ''}' does not exist under {self.artifact_uri}.")

    def upload_file(self, local_file: str, artifact_file: str) -> None:
        dest = self._path(artifact_file)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if os.path.abspath(local_file) != os.path.abspath(dest):
            shutil.copyfile(local_file, dest)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        dest = self._path(artifact_path)
        os.makedirs(dest, exist_ok=True)
        shutil.copytree(local_dir, dest, dirs_exist_ok=True)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = safe_relative_path(path)
        full = self._path(rel)
        if not os.path.isdir(full):
            return []
        infos = []
        with os.scandir(full) as it:
            for entry in sorted(it, key=lambda e: e.name):
                if entry.name.startswith(UPLOAD_TEMP_PREFIX):
                    continue
                child = join_relative(rel, entry.name)
                if entry.is_dir():
                    infos.append(FileInfo(child, True, None))
                else:
                    infos.append(FileInfo(child, False, entry.stat().st_size))
        return infos

    def kind(self, path: str | None) -> Kind | None:
        full = self._path(path)
        if os.path.isdir(full):
            return "dir"
        return "file" if os.path.isfile(full) else None

    def _download_file(self, remote_path: str, local_path: str) -> None:
        src = self._path(remote_path)
        if not os.path.isfile(src):
            raise self._missing(remote_path)
        if os.path.abspath(src) != os.path.abspath(local_path):
            shutil.copyfile(src, local_path)

    def download_artifacts(self, artifact_path: str = "", dst_path: str | None = None) -> str:
        rel = safe_relative_path(artifact_path)
        if not os.path.exists(self._path(rel)):
            raise self._missing(artifact_path)
        return super().download_artifacts(rel, dst_path)

    def size(self, path: str) -> int:
        full = self._path(path)
        if not os.path.isfile(full):
            raise self._missing(path)
        return os.path.getsize(full)

    def local_path(self, path: str) -> str | None:
        return self._path(path)

    def iter_bytes(self, path: str, chunk: int = CHUNK) -> Iterator[bytes]:
        full = self._path(path)
        if not os.path.isfile(full):
            raise self._missing(path)
        return _read_chunks(full, chunk)

    def temp_file_for(self, path: str) -> str:
        """A temp file next to the destination, so saving is an atomic rename."""
        dest = self._path(path)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=UPLOAD_TEMP_PREFIX, dir=os.path.dirname(dest))
        os.close(fd)
        return tmp

    def save_file(self, path: str, tmp_path: str) -> None:
        dest = self._path(path)
        if os.path.isdir(dest):
            os.remove(tmp_path)
            raise InvalidParameterValue(f"Artifact path {path!r} is a directory.")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.replace(tmp_path, dest)

    def delete_artifacts(self, artifact_path: str | None = None, missing_ok: bool = True) -> None:
        target = self._path(artifact_path)
        if target == os.path.realpath(self.root):  # keep the root directory itself
            if os.path.isdir(target):
                with os.scandir(target) as it:
                    for entry in list(it):
                        _remove(entry.path)
            return
        if os.path.lexists(target):
            _remove(target)
        elif not missing_ok:
            raise ResourceDoesNotExist(f"No artifact at {safe_relative_path(artifact_path)!r}.")


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.remove(path)


def _read_chunks(full: str, chunk: int) -> Iterator[bytes]:
    with open(full, "rb") as fh:
        while data := fh.read(chunk):
            yield data
