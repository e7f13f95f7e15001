"""Artifacts on the local filesystem (plain paths and ``file://`` URIs)."""

from __future__ import annotations

import os
import shutil
from urllib.parse import unquote, urlparse

from labkeep.artifacts.base import ArtifactRepository
from labkeep.artifacts.paths import confined_join, safe_relative_path
from labkeep.entities import FileInfo
from labkeep.exceptions import ResourceDoesNotExist


def local_path_from_uri(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return os.path.abspath(unquote(parsed.path))
    return os.path.abspath(uri)


class LocalArtifactRepository(ArtifactRepository):
    def __init__(self, artifact_uri: str, tracking_uri: str | None = None) -> None:
        super().__init__(artifact_uri, tracking_uri)
        self.root = local_path_from_uri(artifact_uri)

    def _path(self, rel: str | None) -> str:
        return confined_join(self.root, rel)

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        dest_dir = self._path(artifact_path)
        os.makedirs(dest_dir, exist_ok=True)
        dest = confined_join(self.root, _join(artifact_path, os.path.basename(local_file)))
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
        for entry in sorted(os.scandir(full), key=lambda e: e.name):
            child = _join(rel, entry.name)
            if entry.is_dir():
                infos.append(FileInfo(child, True, None))
            else:
                infos.append(FileInfo(child, False, entry.stat().st_size))
        return infos

    def _is_dir(self, rel: str) -> bool:
        return os.path.isdir(self._path(rel))

    def _download_file(self, remote_path: str, local_path: str) -> None:
        src = self._path(remote_path)
        if not os.path.isfile(src):
            raise ResourceDoesNotExist(f"Artifact '{remote_path}' does not exist under {self.artifact_uri}.")
        if os.path.abspath(src) != os.path.abspath(local_path):
            shutil.copyfile(src, local_path)

    def download_artifacts(self, artifact_path: str = "", dst_path: str | None = None) -> str:
        rel = safe_relative_path(artifact_path)
        src = self._path(rel)
        if not os.path.exists(src):
            raise ResourceDoesNotExist(
                f"Artifact '{artifact_path}' does not exist under {self.artifact_uri}."
            )
        return super().download_artifacts(rel, dst_path)

    def read_bytes(self, artifact_path: str) -> bytes:
        src = self._path(artifact_path)
        if not os.path.isfile(src):
            raise ResourceDoesNotExist(
                f"Artifact '{artifact_path}' does not exist under {self.artifact_uri}."
            )
        with open(src, "rb") as fh:
            return fh.read()

    def write_bytes(self, data: bytes, artifact_file: str) -> None:
        dest = self._path(artifact_file)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = dest + ".tmp-labkeep"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        target = self._path(artifact_path)
        if os.path.isdir(target):
            shutil.rmtree(target)
        elif os.path.exists(target):
            os.remove(target)


def _join(base: str | None, name: str) -> str:
    base = safe_relative_path(base)
    return f"{base}/{name}" if base else name
