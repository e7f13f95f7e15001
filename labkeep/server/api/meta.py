"""Service endpoints: ``/health``, ``/version`` and ``/api/3.0/mlflow/server-info``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from labkeep.server.api.common import ApiContext, ApiRequest
from labkeep.version import MLFLOW_COMPAT_VERSION


async def health(ctx: ApiContext, request: Request, params: dict[str, str]) -> Response:
    """``OK`` — or, when the server is exposed unsafely, JSON with the warnings printed at start.

    Answered on the event loop, never in the worker pool: a pool full of calls waiting for the
    database must not make a load balancer's health check time out and take a live server out.
    """
    from labkeep.server.security import exposure_warnings

    warnings = exposure_warnings(ctx.settings) if ctx.settings is not None else []
    if warnings:
        body = {"status": "OK", "auth_enabled": bool(ctx.settings.auth_enabled), "warnings": warnings}
        return JSONResponse(body)
    return PlainTextResponse("OK")


async def version(ctx: ApiContext, request: Request, params: dict[str, str]) -> PlainTextResponse:
    # The mlflow client parses this as a version (OTLP span upload needs >= 3.4).
    return PlainTextResponse(MLFLOW_COMPAT_VERSION)


def server_info(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    return {
        "store_type": "SqlStore",
        "workspaces_enabled": False,
        "trace_archival_enabled": False,
        # Only an S3 destination can hand out presigned part URLs; the client then uploads files of
        # MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE (500 MiB) or more straight to storage.
        "multipart_uploads_enabled": bool(
            getattr(ctx.extras.get("artifact_store"), "supports_multipart", False)
        ),
        "multipart_downloads_enabled": False,
        "presigned_upload_run_id_supported": False,
        "presigned_upload_model_id_supported": False,
        "features_enabled": {"gateway": False},
    }
