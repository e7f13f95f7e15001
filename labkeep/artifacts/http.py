"""Artifacts through a tracking server's artifact proxy (``mlflow-artifacts:`` and ``http(s)://`` URIs).

``mlflow-artifacts:/<p>`` resolves against the tracking URI to
``<tracking>/api/2.0/mlflow-artifacts/artifacts/<p>``; ``mlflow-artifacts://host:port/<p>`` names the
host itself. Uploads are one PUT per file, downloads stream to disk, several files at a time; files of
10 MB or more show a progress bar when stderr is a terminal (MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false
turns it off).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote, urlparse

from labkeep import config
from labkeep.artifacts.base import CHUNK, ArtifactRepository, Kind
from labkeep.artifacts.paths import join_relative, safe_relative_path
from labkeep.entities import FileInfo
from labkeep.exceptions import InvalidParameterValue
from labkeep.utils.progress import ProgressBar, progress_bar

PROXY_PATH = "/api/2.0/mlflow-artifacts/artifacts"
PROGRESS_MIN_BYTES = 10 * 1024 * 1024
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


def _bar(desc: str, size: int | None) -> ProgressBar:
    """A progress bar for one large file (small files transfer silently)."""
    big = bool(size and size >= PROGRESS_MIN_BYTES)
    return progress_bar(desc, size, enabled=big and config.ARTIFACTS_PROGRESS_BAR.flag())


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
        return join_relative(self.root, rel)

    def _url_path(self, rel: str) -> str:
        return f"{PROXY_PATH}/{quote(self._remote(rel))}"

    def _check(self, resp: Any) -> None:
        if resp.status_code != 200:
            from labkeep.stores.rest.http import error_from_response

            raise error_from_response(resp)

    def upload_file(self, local_file: str, artifact_file: str) -> None:
        dest = safe_relative_path(artifact_file)
        size = os.path.getsize(local_file)
        import mimetypes

        ctype = mimetypes.guess_type(local_file)[0] or "application/octet-stream"
        headers = {"Content-Type": ctype, "Content-Length": str(size)}
        if size < PROGRESS_MIN_BYTES:
            with open(local_file, "rb") as f:
                resp = self.rest.request("PUT", self._url_path(dest), content=f.read(), headers=headers)
            self._check(resp)
            return
        bar = _bar(f"Uploading {posixpath.basename(dest)}", size)

        def body() -> Iterator[bytes]:
            bar.reset(size)  # a retry sends the file again
            with open(local_file, "rb") as f:
                while chunk := f.read(CHUNK):
                    bar.update(len(chunk))
                    yield chunk

        try:
            self._check(self.rest.request("PUT", self._url_path(dest), content_factory=body, headers=headers))
        finally:
            bar.close()

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = safe_relative_path(path)
        out = []
        for f in self._list_remote(rel):
            name = posixpath.basename(f["path"].rstrip("/"))
            size = f.get("file_size")
            out.append(
                FileInfo(join_relative(rel, name), bool(f.get("is_dir")), None if size is None else int(size))
            )
        return sorted(out, key=lambda f: f.path)

    def _list_remote(self, rel: str) -> list[dict]:
        resp = self.rest.request("GET", PROXY_PATH, params={"path": self._remote(rel)})
        self._check(resp)
        return list((resp.json() if resp.content else {}).get("files", []))

    def kind(self, path: str | None) -> Kind | None:
        rel = safe_relative_path(path)
        # One listing answers for a non-empty directory; files and empty folders need their parent's.
        if not rel or self._list_remote(rel):
            return "dir"
        return super().kind(rel)

    def _download_file(self, remote_path: str, local_path: str) -> None:
        rel = safe_relative_path(remote_path)
        with self.rest.client.stream(
            "GET", self.rest.creds.host + self._url_path(rel), headers=self.rest.creds.auth_headers()
        ) as resp:
            if resp.status_code != 200:
                resp.read()
                self._check(resp)
            total = int(resp.headers.get("content-length") or 0) or None
            bar = _bar(f"Downloading {posixpath.basename(rel)}", total)
            tmp = local_path + ".part"
            try:
                with open(tmp, "wb") as f:
                    for chunk in resp.iter_bytes(CHUNK):
                        f.write(chunk)
                        bar.update(len(chunk))
            finally:
                bar.close()
            os.replace(tmp, local_path)

    def _upload_many(self, jobs: list[tuple[str, str]]) -> None:
        """Several files at a time: one keep-alive client, a few threads."""
        _parallel(lambda job: self.upload_file(*job), jobs)

    def _download_many(self, jobs: list[tuple[str, str]]) -> None:
        _parallel(lambda job: self._download_file(*job), jobs)

    def delete_artifacts(self, artifact_path: str | None = None, missing_ok: bool = True) -> None:
        rel = safe_relative_path(artifact_path)
        from labkeep.exceptions import ResourceDoesNotExist

        try:
            self._check(self.rest.request("DELETE", self._url_path(rel)))
        except ResourceDoesNotExist:
            if not missing_ok:
                raise
