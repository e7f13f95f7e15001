"""Artifacts through a tracking server's artifact proxy (``mlflow-artifacts:`` and ``http(s)://`` URIs).

``mlflow-artifacts:/<p>`` resolves against the tracking URI to
``<tracking>/api/2.0/mlflow-artifacts/artifacts/<p>``; ``mlflow-artifacts://host:port/<p>`` names the
host itself. Uploads are one PUT per file, downloads stream to disk; files of 10 MB or more show a
progress bar on stderr (MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false turns it off).
"""

from __future__ import annotations

import os
import posixpath
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote, urlparse

from labkeep import config
from labkeep.artifacts.base import ArtifactRepository
from labkeep.artifacts.paths import safe_relative_path
from labkeep.entities import FileInfo
from labkeep.exceptions import InvalidParameterValue

PROXY_PATH = "/api/2.0/mlflow-artifacts/artifacts"
PROGRESS_MIN_BYTES = 10 * 1024 * 1024
_CHUNK = 1 << 20
_clients: dict[str, Any] = {}


def _rest_client(host: str) -> Any:
    """One keep-alive client per server host, shared by every repository instance."""
    from labkeep.stores.rest.http import HostCreds, RestClient

    client = _clients.get(host)
    if client is None:
        client = _clients[host] = RestClient(HostCreds.from_env(host))
    return client


def resolve_proxy_uri(artifact_uri: str, tracking_uri: str | None) -> tuple[str, str]:
    """(server base URL, root path below the proxy) for an artifact URI."""
    parsed = urlparse(artifact_uri)
    scheme = parsed.scheme.lower()
    if scheme == "mlflow-artifacts":
        root = unquote(parsed.path).strip("/")
        if parsed.netloc:
            tscheme = urlparse(tracking_uri).scheme if tracking_uri else "http"
            return f"{tscheme if tscheme in ('http', 'https') else 'http'}://{parsed.netloc}", root
        if tracking_uri is None:
            from labkeep import config

            tracking_uri = config.get_tracking_uri()
        t = urlparse(tracking_uri)
        if t.scheme not in ("http", "https"):
            raise InvalidParameterValue(
                f"Artifact URI {artifact_uri!r} goes through a tracking server's artifact proxy, but the "
                f"tracking URI {tracking_uri!r} is not an http(s):// server; set the tracking URI to the server."
            )
        return f"{t.scheme}://{t.netloc}{t.path.rstrip('/')}", root
    if scheme in ("http", "https"):
        if PROXY_PATH in parsed.path:
            prefix, _, rest = parsed.path.partition(PROXY_PATH)
            return f"{parsed.scheme}://{parsed.netloc}{prefix.rstrip('/')}", unquote(rest).strip("/")
        raise InvalidParameterValue(
            f"HTTP artifact URI {artifact_uri!r} must point at a server's {PROXY_PATH}/... endpoint."
        )
    raise InvalidParameterValue(f"Not an artifact proxy URI: {artifact_uri!r}.")


def _parallel(func: Any, items: list) -> None:
    """Run ``func`` over ``items`` on a few threads; the first error is raised."""
    if len(items) <= 1:
        for item in items:
            func(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
        for _ in pool.map(func, items):
            pass


class _Progress:
    """A minimal stderr progress bar for large transfers."""

    def __init__(self, label: str, total: int | None) -> None:
        self.enabled = bool(total and total >= PROGRESS_MIN_BYTES) and config.ARTIFACTS_PROGRESS_BAR.flag()
        self.label, self.total, self.done, self._last = label, total or 0, 0, 0.0

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.2 and self.done < self.total:
            return
        self._last = now
        pct = 100 * self.done / self.total
        bar = "#" * int(pct // 5)
        mb = 1024 * 1024
        sys.stderr.write(
            f"\r{self.label} [{bar:<20}] {pct:5.1f}% ({self.done / mb:.1f}/{self.total / mb:.1f} MB)"
        )
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


class HttpArtifactRepository(ArtifactRepository):
    """Files below one artifact root on a labkeep/MLflow server's artifact proxy."""

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None, client: Any = None) -> None:
        super().__init__(artifact_uri, tracking_uri)
        self.base_url, self.root = resolve_proxy_uri(artifact_uri, tracking_uri)
        if client is not None:
            from labkeep.stores.rest.http import HostCreds, RestClient

            self.rest = RestClient(HostCreds.from_env(self.base_url), client=client)
        else:
            self.rest = _rest_client(self.base_url)

    def _remote(self, rel: str) -> str:
        return "/".join(p for p in (self.root, rel) if p)

    def _url_path(self, rel: str) -> str:
        return f"{PROXY_PATH}/{quote(self._remote(rel))}"

    def _check(self, resp: Any) -> None:
        if resp.status_code != 200:
            from labkeep.stores.rest.http import error_from_response

            raise error_from_response(resp)

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        rel = safe_relative_path(artifact_path)
        dest = posixpath.join(rel, os.path.basename(local_file)) if rel else os.path.basename(local_file)
        size = os.path.getsize(local_file)
        progress = _Progress(f"Uploading {os.path.basename(local_file)}", size)

        def body() -> Iterator[bytes]:
            progress.done = 0  # a retry starts the file again
            with open(local_file, "rb") as f:
                while chunk := f.read(_CHUNK):
                    progress.update(len(chunk))
                    yield chunk

        import mimetypes

        ctype = mimetypes.guess_type(local_file)[0] or "application/octet-stream"
        headers = {"Content-Type": ctype, "Content-Length": str(size)}
        if size < PROGRESS_MIN_BYTES:
            with open(local_file, "rb") as f:
                resp = self.rest.request("PUT", self._url_path(dest), content=f.read(), headers=headers)
        else:
            resp = self.rest.request("PUT", self._url_path(dest), content_factory=body, headers=headers)
        self._check(resp)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = safe_relative_path(path)
        resp = self.rest.request("GET", PROXY_PATH, params={"path": self._remote(rel)})
        self._check(resp)
        files = (resp.json() if resp.content else {}).get("files", [])
        out = []
        for f in files:
            name = posixpath.basename(f["path"].rstrip("/"))
            size = f.get("file_size")
            out.append(
                FileInfo(
                    posixpath.join(rel, name) if rel else name,
                    bool(f.get("is_dir")),
                    None if size is None else int(size),
                )
            )
        return sorted(out, key=lambda f: f.path)

    def _download_file(self, remote_path: str, local_path: str) -> None:
        rel = safe_relative_path(remote_path)
        with self.rest.client.stream(
            "GET", self.rest.creds.host + self._url_path(rel), headers=self.rest.creds.auth_headers()
        ) as resp:
            if resp.status_code != 200:
                resp.read()
                self._check(resp)
            total = int(resp.headers.get("content-length") or 0) or None
            progress = _Progress(f"Downloading {posixpath.basename(rel)}", total)
            tmp = local_path + ".part"
            with open(tmp, "wb") as f:
                for chunk in resp.iter_bytes(_CHUNK):
                    f.write(chunk)
                    progress.update(len(chunk))
            os.replace(tmp, local_path)

    def _is_dir(self, rel: str) -> bool:
        if rel == "":
            return True
        resp = self.rest.request("GET", PROXY_PATH, params={"path": self._remote(rel)})
        self._check(resp)
        return bool(resp.content and resp.json().get("files"))

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Upload a directory tree, several files at a time (one keep-alive client, many threads)."""
        base = safe_relative_path(artifact_path)
        jobs = []
        for dirpath, _dirs, files in os.walk(local_dir):
            rel_dir = os.path.relpath(dirpath, local_dir)
            sub = "" if rel_dir == "." else "/".join(rel_dir.split(os.sep))
            dest = "/".join(p for p in (base, sub) if p)
            jobs += [(os.path.join(dirpath, name), dest or None) for name in sorted(files)]
        _parallel(lambda job: self.log_artifact(*job), jobs)

    def download_artifacts(self, artifact_path: str = "", dst_path: str | None = None) -> str:
        """Download a file or a directory tree (files fetched in parallel)."""
        import tempfile

        rel = safe_relative_path(artifact_path)
        if rel and not self._is_dir(rel):
            return super().download_artifacts(artifact_path, dst_path)
        dst_root = os.path.abspath(dst_path) if dst_path else tempfile.mkdtemp(prefix="labkeep-download-")
        local_dir = os.path.join(dst_root, *rel.split("/")) if rel else dst_root
        os.makedirs(local_dir, exist_ok=True)

        def fetch(info: FileInfo) -> None:
            local = os.path.join(dst_root, *info.path.split("/"))
            os.makedirs(os.path.dirname(local), exist_ok=True)
            self._download_file(info.path, local)

        _parallel(fetch, self._walk_files(rel))
        return local_dir

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        rel = safe_relative_path(artifact_path)
        self._check(self.rest.request("DELETE", self._url_path(rel)))
