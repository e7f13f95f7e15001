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
from starlette.types import Receive, Scope, Send

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


# Seconds a client should wait before retrying a 503 (the database went away or is busy).
RETRY_AFTER_S = 2


def error_response(exc: LabkeepException) -> Response:
    body = {"error_code": exc.error_code, "message": exc.message}
    headers = {"Retry-After": str(RETRY_AFTER_S)} if exc.http_status == 503 else None
    return Response(json_bytes(body), status_code=exc.http_status, media_type="application/json", headers=headers)


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
        self.exact: dict[str, dict[str, tuple[Callable[..., Any], Any]]] = {}
        self.patterns: list[tuple[_Pattern, dict[str, tuple[Callable[..., Any], Any]]]] = []
        for route in routes:
            path = route.path
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
            for m in route.methods:
                target[m] = (route.handler, route.access)

    def match(self, path: str) -> tuple[dict[str, tuple[Callable[..., Any], Any]] | None, dict[str, str]]:
        if path in self.exact:
            return self.exact[path], {}
        for pattern, methods in self.patterns:
            m = pattern.regex.match(path)
            if m:
                return methods, m.groupdict()
        return None, {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
            func, access = methods[scope["method"]]
            resp = await self.call(func, params, scope, receive, access)
        await resp(scope, receive, send)

    async def call(
        self, func: Callable[..., Any], params: dict[str, str], scope: Scope, receive: Receive, access: Any = None
    ) -> Response:
        auth = self.ctx.extras.get("auth")
        try:
            if inspect.iscoroutinefunction(func):
                if auth is not None:
                    req = ApiRequest(scope["method"], query=_query(scope), path_params=params, headers=_headers(scope))
                    scope["labkeep.user"] = await anyio.to_thread.run_sync(
                        authorize, auth, access, scope, req
                    )
                # the route table's raw handlers are ``async def (ctx, request, params) -> Response``
                response: Response = await func(self.ctx, Request(scope, receive), params)
                return response
            req = await build_request(scope, receive, params)
            if auth is None:
                result = await anyio.to_thread.run_sync(func, self.ctx, req)
            else:
                result = await anyio.to_thread.run_sync(_checked_call, func, self.ctx, auth, access, scope, req)
            if isinstance(result, Response):
                return result
            return Response(json_bytes(result if result is not None else {}), media_type="application/json")
        except LabkeepException as exc:
            resp = error_response(exc)
            if exc.error_code == "UNAUTHENTICATED" and "/ajax-api/" not in scope["path"]:
                resp.headers["WWW-Authenticate"] = 'Basic realm="labkeep"'
            return resp
        except Exception as exc:
            storage = storage_error(exc)
            if storage is not None:
                log.warning("Artifact storage error in %s %s: %s", scope["method"], scope["path"], exc)
                return error_response(storage)
            log.exception("Unhandled error in %s %s", scope["method"], scope["path"])
            return internal_error_response()


def storage_error(exc: BaseException) -> LabkeepException | None:
    """An S3 (botocore) failure as a 4xx/503 with a message, instead of a 500."""
    if not type(exc).__module__.startswith(("botocore", "boto3", "s3transfer")):
        return None
    code = ""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str((response.get("Error") or {}).get("Code", ""))
    if code in ("NoSuchKey", "404", "NotFound"):
        return LabkeepException(f"Artifact not found in storage ({code}).", error_code="RESOURCE_DOES_NOT_EXIST")
    if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"):
        return LabkeepException(
            f"The artifact storage refused the server's request ({code}); check the server's S3 credentials.",
            error_code="PERMISSION_DENIED",
        )
    if code == "NoSuchBucket":
        return LabkeepException(
            "The artifact storage bucket does not exist; check --artifacts-destination.",
            error_code="RESOURCE_DOES_NOT_EXIST",
        )
    return LabkeepException(
        f"The artifact storage is not answering ({code or type(exc).__name__}); try again later.",
        error_code="TEMPORARILY_UNAVAILABLE",
    )


def authorize(auth: Any, access: Any, scope: Scope, req: ApiRequest) -> Any:
    """Authenticate the caller and check the route's ``Access``; return the user (None: public route)."""
    from labkeep.server.auth.service import denied, unauthenticated

    if access is None:  # fail closed: a route without a declared permission answers nobody
        raise denied("This route declares no permission check; it is refused while auth is on.")
    if access.kind == "public":
        return None
    user = auth.authenticate(scope)
    if user is None:
        raise unauthenticated()
    req.user = user
    access.check(auth, user, req)
    return user


def _checked_call(func: Callable[..., Any], ctx: ApiContext, auth: Any, access: Any, scope: Scope, req: ApiRequest) -> Any:
    user = authorize(auth, access, scope, req)
    result = func(ctx, req)
    if user is not None and access.after is not None and not isinstance(result, Response):
        result = access.after(auth, user, req, result)
    return result


def _query(scope: Scope) -> dict[str, list[str]]:
    return parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


async def read_body(receive: Receive, limit: int | None = None) -> bytes:
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


def _has_nul(obj: Any) -> bool:
    if isinstance(obj, str):
        return "\x00" in obj
    if isinstance(obj, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in obj.items())
    if isinstance(obj, list):
        return any(_has_nul(v) for v in obj)
    return False


async def build_request(scope: Scope, receive: Receive, params: dict[str, str]) -> ApiRequest:
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
            except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
                from labkeep.exceptions import InvalidParameterValue

                raise InvalidParameterValue("The request body is not valid JSON.")
            if not isinstance(body, dict):
                from labkeep.exceptions import InvalidParameterValue

                raise InvalidParameterValue("The request body must be a JSON object.")
    if (raw_nul := method != "GET" and b"\\u0000" in raw) or any("\x00" in v for vs in query.values() for v in vs):
        if not raw_nul or _has_nul(body):
            from labkeep.exceptions import InvalidParameterValue

            raise InvalidParameterValue("NUL characters are not allowed in request fields.")
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
