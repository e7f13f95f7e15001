"""Security middleware: Host allow-list (DNS rebinding), CORS for configured origins only."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from labkeep.server.settings import LOCAL_NAMES, ServerSettings

_REJECT_BODY = b'{"error_code":"PERMISSION_DENIED","message":"Invalid Host header; start the server with --allowed-hosts to accept it."}'
_CORS_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_local_or_private(name: str) -> bool:
    if name in LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private


class SecurityMiddleware:
    """Reject foreign Host headers and answer CORS only for configured origins."""

    def __init__(self, app: Callable, settings: ServerSettings) -> None:
        self.app = app
        self.allowed_hosts = {h.lower() for h in settings.allowed_hosts}
        # The allow-list guards a server bound to a loopback address (DNS rebinding); a server bound
        # to a public interface accepts any Host unless --allowed-hosts narrows it.
        bound_local = settings.host in ("127.0.0.1", "localhost", "::1")
        self.allow_any_host = "*" in self.allowed_hosts or (not bound_local and not self.allowed_hosts)
        self.origins = set(settings.cors_allowed_origins)
        self.allow_any_origin = "*" in self.origins

    def host_ok(self, host: str | None) -> bool:
        if self.allow_any_host:
            return True
        if not host:
            return False
        name = _host_name(host)
        return name in self.allowed_hosts or host.lower() in self.allowed_hosts or _is_local_or_private(name)

    def origin_ok(self, origin: str) -> bool:
        return self.allow_any_origin or origin in self.origins

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = origin = None
        for k, v in scope["headers"]:
            if k == b"host":
                host = v.decode("latin-1")
            elif k == b"origin":
                origin = v.decode("latin-1")
        if not self.host_ok(host):
            await _send(send, 403, _REJECT_BODY, [(b"content-type", b"application/json")])
            return
        cors_headers: list[tuple[bytes, bytes]] = []
        if origin is not None and self.origin_ok(origin):
            cors_headers = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
        if scope["method"] == "OPTIONS" and origin is not None:
            if not cors_headers:
                await _send(
                    send,
                    403,
                    b'{"error_code":"PERMISSION_DENIED","message":"Origin not allowed."}',
                    [(b"content-type", b"application/json")],
                )
                return
            await _send(
                send,
                204,
                b"",
                cors_headers
                + [
                    (b"access-control-allow-methods", _CORS_METHODS),
                    (b"access-control-allow-headers", b"*"),
                    (b"access-control-max-age", b"600"),
                ],
            )
            return

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = (
                    list(message.get("headers", [])) + cors_headers + [(b"x-frame-options", b"SAMEORIGIN")]
                )
            await send(message)

        await self.app(scope, receive, send_wrapper)


async def _send(send: Callable, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = headers + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
