"""The scoring app (docs/reference/formats.md, scoring protocol): /ping, /health, /version, /invocations over a PyFuncModel.

Small requests are predicted inline on the event loop (no thread hop: lowest latency); large ones
run in a worker thread under the request timeout, so /ping stays responsive.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from labkeep import config
from labkeep.exceptions import LabkeepException
from labkeep.serving import payloads
from labkeep.serving.fastpath import FastPath

_log = logging.getLogger(__name__)
INLINE_BODY_LIMIT = 64 * 1024
MODEL_PATH_ENV = config.SERVING_MODEL_PATH.name


def _timeout() -> float:
    return config.SCORING_SERVER_REQUEST_TIMEOUT.number()


def _error(exc: LabkeepException, status: int = 400, stack_trace: str | None = None) -> Response:
    body: dict[str, Any] = {"error_code": exc.error_code, "message": exc.message}
    if stack_trace:
        body["stack_trace"] = stack_trace
    return JSONResponse(body, status_code=status)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def create_app(model: Any) -> Starlette:
    """Build the scoring app around a loaded PyFuncModel (``model=None`` answers /ping with 404)."""
    from labkeep.version import __version__

    schema = model.input_schema if model is not None else None
    timeout = _timeout()

    fast = FastPath(model) if model is not None else None
    if fast is not None and not fast.enabled:
        fast = None

    def predict(body: bytes, media: str) -> bytes:
        params, unwrapped = None, False
        if media == payloads.CONTENT_CSV:
            data = payloads.parse_csv_body(body, schema)
        elif media == payloads.CONTENT_PARQUET:
            data = payloads.parse_parquet_body(body)
        else:
            obj = payloads.load_json(body)
            if fast is not None and type(obj) is dict:
                out = fast.predict(obj, body)
                if out is not None:
                    return payloads.encode_predictions(out)
            data, params = payloads.parse_json_object(obj, schema)
            unwrapped = payloads.is_llm_request(obj)
        return payloads.encode_predictions(model.predict(data, params=params), unwrapped)

    def run(body: bytes, media: str) -> Response:
        try:
            return Response(predict(body, media), media_type="application/json")
        except payloads.PayloadError as e:
            return _error(e)
        except LabkeepException as e:
            if e.error_code == "INVALID_PARAMETER_VALUE":
                return _error(e)
            return _error(LabkeepException(e.message, "BAD_REQUEST"), stack_trace=traceback.format_exc())
        except Exception as e:  # the model's own failure: 400 with its traceback, never a 500
            msg = f"Encountered an unexpected error while evaluating the model: {type(e).__name__}: {e}"
            return _error(LabkeepException(msg, "BAD_REQUEST"), stack_trace=traceback.format_exc())

    async def invocations(request: Request) -> Response:
        try:
            media = payloads.parse_content_type(request.headers.get("content-type"))
        except payloads.UnsupportedMediaType as e:
            return PlainTextResponse(str(e), status_code=415)
        body = await request.body()
        if len(body) <= INLINE_BODY_LIMIT:
            return run(body, media)
        try:
            return await asyncio.wait_for(asyncio.to_thread(run, body, media), timeout)
        except asyncio.TimeoutError:
            return PlainTextResponse(f"Prediction timed out after {timeout:g} seconds.", status_code=504)

    async def ping(request: Request) -> Response:
        if model is None:
            return Response("\n", status_code=404, media_type="application/json")
        return Response("\n", media_type="application/json")

    async def version(request: Request) -> Response:
        return Response(__version__, media_type="application/json")

    routes = [
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
    ]
    # starlette types every handler as taking the base Exception, though it passes the registered class
    handlers = {HTTPException: _http_error}
    app = Starlette(routes=routes, exception_handlers=handlers)  # type: ignore[arg-type]
    app.state.model = model
    return app


def app_from_env() -> Starlette:
    """uvicorn factory for multi-worker serving: loads the model named by LABKEEP_SERVING_MODEL_PATH."""
    from labkeep.pyfunc.loader import load_model_from_dir
    from labkeep.serving.server import freeze_heap

    app = create_app(load_model_from_dir(config.SERVING_MODEL_PATH.get() or "."))
    freeze_heap()
    return app
