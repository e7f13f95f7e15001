"""Turns the route table into one ASGI app: exact-path dict lookup, JSON in, JSON out.

JSON handlers (``common.Handler``) always run in the worker thread pool, so a store call that
waits (a database lock, a network round trip) never holds up the event loop; raw handlers
(artifact proxy, OTLP) are ``async def h(ctx, request, path_params) -> Response`` and run on
the loop. Every response body is sent in a single ``http.response.body`` message.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from labkeep.exceptions import LabkeepException
from labkeep.server.api.common import ApiContext, ApiRequest

if TYPE_CHECKING:
    from labkeep.server.api.routes import ApiRoute

log = logging.getLogger("labkeep.server")

_JSON_HEADERS = [(b"content-type", b"application/json")]


def json_bytes(obj: Any) -> bytes:
    try:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()
    except ValueError:  # a NaN/Infinity float somewhere: use MLflow's string spellings
        return json.dumps(_specials_as_strings(obj), separators=(",", ":"), allow_nan=False).encode()


def _specials_as_strings(obj: Any) -> Any:
    from labkeep.entities.tracking import float_to_json

    if isinstance(obj, float):
        return float_to_json(obj)
    if isinstance(obj, dict):
        return {k: _specials_as_strings(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_specials_as_strings(v) for v in obj]
    return obj


def error_response(exc: LabkeepException) -> Response:
    body = {"error_code": exc.error_code, "message": exc.message}
    return Response(json_bytes(body), status_code=exc.http_status, media_type="application/json")


def internal_error_response() -> Response:
    body = {"error_code": "INTERNAL_ERROR", "message": "Internal server error; see the server log."}
    return Response(json_bytes(body), status_code=500, media_type="application/json")


class _Pattern:
    def __init__(self, template: str) -> None:
        names = re.findall(r"{(\w+)}", template)
        regex = re.escape(template)
        for name in names:
            esc = re.escape("{" + name + "}")
            # ``path`` and ``tag_key`` (always last) swallow the rest, slashes included; others are one segment.
            regex = regex.replace(
                esc, f"(?P<{name}>.+)" if name in ("path", "tag_key") else f"(?P<{name}>[^/]+)"
            )
        self.regex = re.compile(regex + "$")


class ApiDispatcher:
    """ASGI app for every table route below one mount point (``/api`` or ``/ajax-api``)."""

    def __init__(self, ctx: ApiContext, routes: list[ApiRoute]) -> None:
        self.ctx = ctx
        self.exact: dict[str, dict[str, Callable[..., Any]]] = {}
        self.patterns: list[tuple[_Pattern, dict[str, Callable[..., Any]]]] = []
        for methods, path, func in routes:
            if "{" in path:
                pat = next(
                    (p for p in self.patterns if p[0].regex.pattern == _Pattern(path).regex.pattern), None
                )
                if pat is None:
                    pat = (_Pattern(path), {})
                    self.patterns.append(pat)
                target = pat[1]
            else:
                target = self.exact.setdefault(path, {})
            for m in methods:
                target[m] = func

    def match(self, path: str) -> tuple[dict[str, Callable[..., Any]] | None, dict[str, str]]:
        if path in self.exact:
            return self.exact[path], {}
        for pattern, methods in self.patterns:
            m = pattern.regex.match(path)
            if m:
                return methods, m.groupdict()
        return None, {}

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        methods, params = self.match(path)
        if methods is None:
            resp: Response = error_response(
                LabkeepException(_not_found_message(path), error_code="ENDPOINT_NOT_FOUND")
            )
        elif scope["method"] not in methods:
            resp = Response(
                json_bytes(
                    {"error_code": "BAD_REQUEST", "message": f"Method {scope['method']} not allowed."}
                ),
                status_code=405,
                media_type="application/json",
            )
        else:
            resp = await self.call(methods[scope["method"]], params, scope, receive)
        await resp(scope, receive, send)

    async def call(self, func: Callable[..., Any], params: dict, scope: dict, receive: Callable) -> Response:
        try:
            if inspect.iscoroutinefunction(func):
                return await func(self.ctx, Request(scope, receive), params)
            req = await build_request(scope, receive, params)
            result = await anyio.to_thread.run_sync(func, self.ctx, req)
            if isinstance(result, Response):
                return result
            return Response(json_bytes(result if result is not None else {}), media_type="application/json")
        except LabkeepException as exc:
            return error_response(exc)
        except Exception:
            log.exception("Unhandled error in %s %s", scope["method"], scope["path"])
            return internal_error_response()


async def read_body(receive: Callable, limit: int | None = None) -> bytes:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if limit is not None and size > limit:
                from labkeep.exceptions import InvalidParameterValue

                raise InvalidParameterValue(f"Request body exceeds the limit of {limit} bytes.")
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


# Larger bodies are refused before parsing (log-batch is limited to 1 MB by the spec; other
# requests — logged-model params, inputs — stay well below this).
MAX_JSON_BODY = 16 * 1024 * 1024


async def build_request(scope: dict, receive: Callable, params: dict) -> ApiRequest:
    method = scope["method"]
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    body: Any = {}
    size = 0
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    if method != "GET":
        raw = await read_body(receive, MAX_JSON_BODY)
        size = len(raw)
        if raw.strip():
            ctype = headers.get("content-type", "application/json")
            if "json" not in ctype:
                from labkeep.exceptions import InvalidParameterValue

                raise InvalidParameterValue(
                    f"Content-Type must be application/json for {method} requests, got {ctype!r}."
                )
            try:
                body = json.loads(raw)
            except ValueError:
                from labkeep.exceptions import InvalidParameterValue

                raise InvalidParameterValue("The request body is not valid JSON.")
            if not isinstance(body, dict):
                from labkeep.exceptions import InvalidParameterValue

                raise InvalidParameterValue("The request body must be a JSON object.")
    req = ApiRequest(method, body=body, query=query, path_params=params, headers=headers)
    req.body_size = size
    return req


# mlflow features labkeep does not offer, named in the 404 so users know it is not a typo
_UNSUPPORTED_FEATURES = (
    ("/gateway/", "the AI gateway (secrets, endpoints, providers, model definitions)"),
    ("/gateway-proxy", "the AI gateway proxy"),
)


def _not_found_message(path: str) -> str:
    for marker, feature in _UNSUPPORTED_FEATURES:
        if marker in path:
            return f"No API endpoint {path!r}: labkeep does not provide {feature}."
    return f"No API endpoint {path!r}."
