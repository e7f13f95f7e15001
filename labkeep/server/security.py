"""Security middleware: Host allow-list (DNS rebinding), CORS for configured origins only, and CSRF.

CSRF: a state-changing request (POST/PUT/PATCH/DELETE) that names another site in its ``Origin``
(or, without one, its ``Referer``) is refused unless that origin is in ``--cors-allowed-origins``;
so is a POST with a content type a cross-site HTML form can produce (form-encoded, multipart,
text/plain) unless it comes from this server's own pages. JSON requests need a CORS preflight,
which stays closed, so a foreign page cannot make them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from urllib.parse import urlsplit

from labkeep.server.settings import LOCAL_NAMES, ServerSettings

_REJECT_BODY = b'{"error_code":"PERMISSION_DENIED","message":"Invalid Host header; start the server with --allowed-hosts to accept it."}'
_CORS_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"
_CSRF_BODY = (
    b'{"error_code":"PERMISSION_DENIED","message":"Cross-site request refused: a state-changing request '
    b"must be sent as JSON (Content-Type: application/json) or come from this server's own pages "
    b'(same-origin Origin/Referer)."}'
)
_UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


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


def exposure_warnings(settings: ServerSettings) -> list[str]:
    """What is unsafe about how the server is exposed (printed at start, shown on /health)."""
    if settings.bound_local:
        return []
    out = []
    if not settings.auth_enabled:
        out.append(
            f"the server listens on {settings.host} without authentication: anyone who can reach it "
            "can read, change and delete every experiment and model. Start it with --app-name basic-auth."
        )
    if not settings.allowed_hosts:
        out.append(
            "no --allowed-hosts given: requests with any Host header are accepted (DNS rebinding is not "
            "blocked). Pass --allowed-hosts with the names clients use."
        )
    return out


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

    def write_allowed(
        self, method: str, host: str | None, origin: str | None, referer: str | None, ctype: str | None
    ) -> bool:
        """CSRF rule for a state-changing request (see the module docstring)."""
        source = origin
        if source is None and referer:
            parsed = urlsplit(referer)
            source = f"{parsed.scheme}://{parsed.netloc}" if parsed.netloc else "null"
        same_site = source is not None and source != "null" and urlsplit(source).netloc == (host or "")
        if source is not None and not same_site and not (source != "null" and source in self.origins):
            return False
        if method == "POST" and not same_site and ctype is not None:  # what an HTML form can send
            media = ctype.split(";", 1)[0].strip().lower()
            if media in _FORM_TYPES:
                return False
        return True

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = origin = referer = ctype = None
        for k, v in scope["headers"]:
            if k == b"host":
                host = v.decode("latin-1")
            elif k == b"origin":
                origin = v.decode("latin-1")
            elif k == b"referer":
                referer = v.decode("latin-1")
            elif k == b"content-type":
                ctype = v.decode("latin-1")
        if not self.host_ok(host):
            await _send(send, 403, _REJECT_BODY, [(b"content-type", b"application/json")])
            return
        if scope["method"] in _UNSAFE and not self.write_allowed(scope["method"], host, origin, referer, ctype):
            await _send(send, 403, _CSRF_BODY, [(b"content-type", b"application/json")])
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
