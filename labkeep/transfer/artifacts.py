"""Copying a run's or model's artifact folder between stores, resumable file by file."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any
from urllib.parse import urlparse


def local_path(uri: str) -> str | None:
    """The filesystem path of a local artifact URI (plain path or ``file://``); None otherwise."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return os.path.abspath(parsed.path)
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return os.path.abspath(uri)
    return None


class ArtifactCopier:
    """Copies artifact trees; files already at the destination with the same size are skipped."""

    def __init__(self, source: Any, dest_server: str | None = None) -> None:
        self.source = source
        self.dest_server = dest_server
        self.files = 0
        self.bytes = 0

    def copy(self, src_uri: str, dst_uri: str) -> int:
        """Copy everything under ``src_uri`` to ``dst_uri``; returns the number of files written.

        A source folder that does not exist holds nothing to copy (runs that logged no artifact).
        """
        if not src_uri or src_uri.rstrip("/") == dst_uri.rstrip("/"):
            return 0
        src, dst = local_path(src_uri), local_path(dst_uri)
        if src is not None:
            if not os.path.isdir(src):
                return 0
            if dst is not None:
                return self._local_to_local(src, dst)
            return self._upload(src, dst_uri)
        return self._remote(src_uri, dst_uri, dst)

    def _local_to_local(self, src: str, dst: str) -> int:
        written = 0
        for root, _dirs, files in os.walk(src):
            rel = os.path.relpath(root, src)
            target_dir = dst if rel == "." else os.path.join(dst, rel)
            for name in files:
                s = os.path.join(root, name)
                d = os.path.join(target_dir, name)
                size = os.path.getsize(s)
                if os.path.exists(d) and os.path.getsize(d) == size:
                    continue
                os.makedirs(target_dir, exist_ok=True)
                tmp = d + ".labkeep-part"
                shutil.copyfile(s, tmp)
                os.replace(tmp, d)  # a killed copy never leaves a half file under the real name
                written += 1
                self.bytes += size
        self.files += written
        return written

    def _upload(self, src: str, dst_uri: str) -> int:
        from labkeep.artifacts import get_artifact_repository

        repo = get_artifact_repository(dst_uri, tracking_uri=self.dest_server)
        have = {f.path: f.file_size for f in _walk(repo, "")}
        written = 0
        for root, _dirs, files in os.walk(src):
            rel = os.path.relpath(root, src)
            for name in files:
                path = name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
                size = os.path.getsize(os.path.join(root, name))
                if have.get(path) == size:
                    continue
                repo.log_artifact(os.path.join(root, name), None if rel == "." else rel.replace(os.sep, "/"))
                written += 1
                self.bytes += size
        self.files += written
        return written

    def _remote(self, src_uri: str, dst_uri: str, dst: str | None) -> int:
        repo = self.source.artifact_repository(src_uri)
        files = _walk(repo, "")
        if not files:
            return 0
        with tempfile.TemporaryDirectory(prefix="labkeep-transfer-") as tmp:
            repo.download_artifacts("", tmp)
            if dst is not None:
                return self._local_to_local(tmp, dst)
            return self._upload(tmp, dst_uri)


def _walk(repo: Any, path: str) -> list[Any]:
    out = []
    try:
        entries = repo.list_artifacts(path or None)
    except Exception:
        return []
    for info in entries:
        if info.is_dir:
            out += _walk(repo, info.path)
        else:
            out.append(info)
    return out
