"""Artifact proxy (``/api/2.0/mlflow-artifacts/...``), run artifact listing and legacy downloads.

The proxy serves ``mlflow-artifacts:/<exp>/<run>/artifacts/<file>`` URIs: the path after the scheme
is a path below the server's artifacts destination.
"""

from __future__ import annotations

import json
import mimetypes
import os
import posixpath
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from labkeep.artifacts.base import ArtifactRepository
from labkeep.artifacts.paths import safe_request_path as safe_relative_path
from labkeep.exceptions import InvalidParameterValue, LabkeepException, ResourceDoesNotExist
from labkeep.server.api.common import ApiContext, ApiRequest
from labkeep.server.api.dispatch import json_bytes

PROXY_MARKER = "/api/2.0/mlflow-artifacts/artifacts"
# The legacy UI upload is limited to 10 MB (limits-and-defaults.md).
LEGACY_UPLOAD_LIMIT = 10 * 1024 * 1024

_TEXT_EXTENSIONS = {
    ".txt", ".log", ".md", ".json", ".yaml", ".yml", ".csv", ".tsv", ".py", ".ini", ".cfg",
    ".toml", ".xml", ".html", ".js", ".css", ".sh", ".r", ".sql", ".mlmodel",
}  # fmt: skip


def destination(ctx: ApiContext) -> ArtifactRepository:
    store: ArtifactRepository | None = ctx.extras.get("artifact_store")
    if store is None:
        raise LabkeepException(
            "This server does not serve artifacts (started without an artifacts destination).",
            error_code="NOT_IMPLEMENTED",
        )
    return store


def resolve_uri(ctx: ApiContext, uri: str) -> tuple[ArtifactRepository, str]:
    """An artifact URI → (store, relative prefix inside that store)."""
    from labkeep.artifacts.local import LocalArtifactRepository
    from labkeep.artifacts.s3 import S3ArtifactRepository

    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme == "mlflow-artifacts":
        return destination(ctx), safe_relative_path(unquote(parsed.path).lstrip("/"))
    if scheme in ("http", "https") and PROXY_MARKER in parsed.path:
        rel = parsed.path.split(PROXY_MARKER, 1)[1]
        return destination(ctx), safe_relative_path(unquote(rel).lstrip("/"))
    if scheme == "s3":
        check_s3_bucket(ctx, uri)
        return S3ArtifactRepository(uri), ""
    if scheme == "file":
        return LocalArtifactRepository(unquote(parsed.path)), ""
    if scheme == "" and os.path.isabs(uri):
        return LocalArtifactRepository(uri), ""
    raise InvalidParameterValue(f"The server cannot read artifacts at {uri!r}.")


def allowed_buckets(ctx: ApiContext) -> set[str]:
    """The S3 buckets this server was configured with (artifacts destination, default root)."""
    roots = [ctx.artifact_root, getattr(ctx.settings, "default_artifact_root", None) or ""]
    return {urlparse(r).netloc for r in roots if r and r.lower().startswith("s3://")}


def check_s3_bucket(ctx: ApiContext, uri: str) -> None:
    """Refuse an ``s3://`` URI outside the configured buckets: the server never touches a bucket a client names."""
    bucket = urlparse(uri).netloc
    if bucket not in allowed_buckets(ctx):
        raise InvalidParameterValue(
            f"s3://{bucket} is not one of this server's artifact buckets; artifacts of a server live in the "
            "bucket of its --artifacts-destination (or --default-artifact-root)."
        )


def _join(prefix: str, rel: str) -> str:
    return "/".join(p for p in (prefix, rel) if p)


def list_under_uri(ctx: ApiContext, root_uri: str, path: str) -> list[dict[str, Any]]:
    """Children of ``root_uri``/``path`` with paths relative to ``root_uri`` (``dir/c.txt``)."""
    rel = safe_relative_path(path or "")
    store, prefix = resolve_uri(ctx, root_uri)
    entries = store.list_dir(_join(prefix, rel)) or []
    return [dict(e.to_dict(), path=_join(rel, e.path)) for e in entries]


def file_response_for_uri(ctx: ApiContext, root_uri: str, path: str) -> Response:
    rel = safe_relative_path(path, "artifact path")
    store, prefix = resolve_uri(ctx, root_uri)
    return _file_response(store, _join(prefix, rel))


def _content_type(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    if ext in _TEXT_EXTENSIONS or name == "MLmodel":
        return "text/plain"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _file_response(store: Any, rel: str) -> Response:
    kind = store.kind(rel)
    if kind is None:
        raise ResourceDoesNotExist(f"Artifact {rel!r} does not exist.")
    if kind == "dir":
        return Response(
            json_bytes({"detail": f"Artifact path {rel!r} is a directory; list it instead."}),
            status_code=400,
            media_type="application/json",
        )
    name = posixpath.basename(rel)
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff",
    }
    local = store.local_path(rel)
    if local is not None:
        return FileResponse(local, media_type=_content_type(name), headers=headers)
    headers["Content-Length"] = str(store.size(rel))
    return StreamingResponse(store.iter_bytes(rel), media_type=_content_type(name), headers=headers)


# ---------------------------------------------------------------- proxy (raw async handlers)


_T = TypeVar("_T")


async def _run(func: Callable[..., _T], *args: Any) -> _T:
    """``func(*args)`` in the worker pool; an unreachable object store becomes a 503."""
    try:
        return await anyio.to_thread.run_sync(func, *args)
    except Exception as exc:
        if _storage_unreachable(exc):
            from labkeep.exceptions import TemporarilyUnavailable

            raise TemporarilyUnavailable(
                f"The artifact store cannot be reached ({type(exc).__name__}: {str(exc)[:200]}). "
                "Tracking calls still work; retry the artifact request later."
            ) from None
        raise


def _storage_unreachable(exc: BaseException) -> bool:
    """A network failure talking to object storage (botocore's connection errors, a refused socket)."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    names = {c.__name__ for c in type(exc).__mro__}
    return type(exc).__module__.startswith(("botocore", "urllib3")) and bool(
        names & {"ConnectionError", "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"}
    )


async def proxy_list(ctx: ApiContext, request: Request, params: dict[str, str]) -> Response:
    rel = safe_relative_path(request.query_params.get("path", ""))
    entries = await _run(destination(ctx).list_dir, rel)
    body = {"files": [e.to_dict() for e in entries]} if entries else {}
    if entries is not None and not entries:
        body = {}
    return Response(json_bytes(body), media_type="application/json")


async def receive_to_store(store: Any, rel: str, request: Request, limit: int | None = None) -> None:
    tmp = await _run(store.temp_file_for, rel)
    try:
        size = 0
        with open(tmp, "wb") as f:
            async for chunk in request.stream():
                size += len(chunk)
                if limit is not None and size > limit:
                    raise InvalidParameterValue(f"Upload exceeds the limit of {limit} bytes.")
                f.write(chunk)
        await _run(store.save_file, rel, tmp)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


async def proxy_upload(ctx: ApiContext, request: Request, params: dict[str, str]) -> Response:
    rel = safe_relative_path(params["path"])
    if not rel:
        raise InvalidParameterValue("An artifact upload needs a file path.")
    await receive_to_store(destination(ctx), rel, request)
    return Response(b"", status_code=200)


async def proxy_download(ctx: ApiContext, request: Request, params: dict[str, str]) -> Response:
    rel = safe_relative_path(params["path"])
    return await _run(_file_response, destination(ctx), rel)


async def proxy_delete(ctx: ApiContext, request: Request, params: dict[str, str]) -> Response:
    rel = safe_relative_path(params["path"])
    if not rel:  # ".", "./", "a/.." normalise to the root: never empty the whole artifact store
        raise InvalidParameterValue("Refusing to delete the artifact root; name a file or folder below it.")
    await _run(destination(ctx).delete_artifacts, rel, False)
    return Response(b"{}", media_type="application/json")


# The mlflow client falls back to a single PUT when the error message starts with this text.
MPU_UNSUPPORTED = "Multipart upload is not supported for the current artifact repository"


async def _mpu_call(ctx: ApiContext, request: Request, params: dict[str, str], op: str) -> Response:
    """Presigned multipart upload (S3 destinations): the client PUTs parts straight to storage."""
    rel = safe_relative_path(params["path"])
    store = destination(ctx)
    if not getattr(store, "supports_multipart", False):
        raise LabkeepException(
            f"{MPU_UNSUPPORTED} (local artifacts destination); upload with a single PUT.",
            error_code="NOT_IMPLEMENTED",
        )
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, RecursionError):
        raise InvalidParameterValue("The request body is not valid JSON.")
    req = ApiRequest("POST", body=body)
    # Like the mlflow client sends it: the URL names the directory, the body's ``path`` the client's
    # local file, whose base name becomes the artifact's name.
    local_name = req.get_str("path")
    if local_name:
        rel = safe_relative_path(
            "/".join(p for p in (rel, posixpath.basename(local_name.replace("\\", "/"))) if p)
        )
    if op == "create":
        num_parts = req.get_int("num_parts", default=1)
        if num_parts is None or not 1 <= num_parts <= 10000:
            raise InvalidParameterValue("num_parts must be between 1 and 10000.")
        upload_id, credentials = await _run(store.create_multipart_upload, rel, num_parts)
        return Response(
            json_bytes({"upload_id": upload_id, "credentials": credentials}), media_type="application/json"
        )
    upload_id = req.get_str("upload_id", required=True)
    if op == "complete":
        parts = req.get_dicts("parts", required=True)
        for p in parts:
            if not isinstance(p.get("part_number"), int) or not isinstance(p.get("etag"), str):
                raise InvalidParameterValue("Each part needs an integer 'part_number' and a string 'etag'.")
        await _run(store.complete_multipart_upload, rel, upload_id, parts)
    else:
        await _run(store.abort_multipart_upload, rel, upload_id)
    return Response(b"{}", media_type="application/json")


async def proxy_mpu_create(ctx: ApiContext, request: Request, params: dict[str, str]) -> Response:
    return await _mpu_call(ctx, request, params, "create")


async def proxy_mpu_complete(ctx: ApiContext, request: Request, params: dict[str, str]) -> Response:
    return await _mpu_call(ctx, request, params, "complete")


async def proxy_mpu_abort(ctx: ApiContext, request: Request, params: dict[str, str]) -> Response:
    return await _mpu_call(ctx, request, params, "abort")


# ---------------------------------------------------------------- run artifacts and legacy routes


def list_run_artifacts(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    run = ctx.tracking_store.get_run(req.run_id())
    root = run.info.artifact_uri
    out: dict[str, Any] = {"root_uri": root}
    files = list_under_uri(ctx, root, req.get_str("path") or "")
    if files:
        out["files"] = files
    return out


def legacy_get_artifact(ctx: ApiContext, req: ApiRequest) -> Response:
    run = ctx.tracking_store.get_run(req.run_id())
    return file_response_for_uri(ctx, run.info.artifact_uri, req.get_str("path", required=True))


def legacy_get_model_version_artifact(ctx: ApiContext, req: ApiRequest) -> Response:
    if ctx.registry_store is None:
        raise LabkeepException("The model registry is not available.", error_code="NOT_IMPLEMENTED")
    path = req.get_str("path", required=True)
    safe_relative_path(path)  # a bad path is refused before the version is looked up, as in mlflow
    uri = ctx.registry_store.get_model_version_download_uri(
        req.get_str("name", required=True), req.get_str("version", required=True)
    )
    return file_response_for_uri(ctx, uri, path)


async def legacy_upload_artifact(ctx: ApiContext, request: Request, params: dict[str, str]) -> Response:
    run_id = request.query_params.get("run_uuid") or request.query_params.get("run_id")
    path = request.query_params.get("path")
    # mlflow's texts, in mlflow's order (clients match on them)
    if not run_id:
        raise InvalidParameterValue("Request must specify run_uuid.")
    if not path:
        raise InvalidParameterValue("Request must specify path.")
    rel = safe_relative_path(path)
    if request.headers.get("content-length", "0") == "0" and "transfer-encoding" not in request.headers:
        raise InvalidParameterValue("Request must specify data.")
    run = await _run(ctx.tracking_store.get_run, run_id)
    store, prefix = resolve_uri(ctx, run.info.artifact_uri)
    await receive_to_store(store, _join(prefix, rel), request, LEGACY_UPLOAD_LIMIT)
    return Response(b"{}", media_type="application/json")
