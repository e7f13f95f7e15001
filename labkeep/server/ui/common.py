"""Shared page plumbing: the Jinja2 environment, HTML-or-JSON responses, same-origin checks.

Every page view returns ``page(request, template, data)``: the data dict is rendered through the
template, or sent as JSON when the path ends in ``.json`` or the client asks for
``application/json``. Templates are autoescaped; data embedded for scripts goes through
``tojson`` (which escapes ``<``, ``>``, ``&`` and quotes).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from typing import Any
from urllib.parse import urlencode, urlparse

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from labkeep.exceptions import LabkeepException

HERE = os.path.dirname(os.path.abspath(__file__))


def _static_version() -> str:
    """Cache-busting token for static URLs: the package version plus the newest static mtime."""
    from labkeep.version import __version__

    folder = os.path.join(HERE, "static")
    newest = max((os.path.getmtime(os.path.join(folder, f)) for f in os.listdir(folder)), default=0)
    return f"{__version__}.{int(newest)}"


STATIC_VERSION = _static_version()
UPLOT = "uplot-1.6.32"


def _missing(v: Any) -> bool:
    """None, "" or a Jinja2 Undefined (a key the entity's dict left out, e.g. a running run's end)."""
    from jinja2 import Undefined

    return v is None or v == "" or isinstance(v, Undefined)


def fmt_time(ms: Any) -> Markup | str:
    """A ``<time>`` element: UTC (zone shown) in the HTML, turned into the viewer's local time
    zone (zone shown too) by app.js; the ``title`` keeps the other one."""
    if _missing(ms):
        return ""
    try:
        t = _dt.datetime.fromtimestamp(int(ms) / 1000, tz=_dt.timezone.utc)
    except (ValueError, OverflowError, OSError, TypeError):
        return str(ms)
    text = t.strftime("%Y-%m-%d %H:%M:%S") + " UTC"
    iso = t.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return Markup('<time datetime="{}" data-ms="{}" title="{}">{}</time>').format(iso, int(ms), text, text)


def fmt_duration(start: Any, end: Any) -> str:
    if _missing(start) or _missing(end):
        return ""
    secs = max(0.0, (int(end) - int(start)) / 1000)
    if secs < 60:
        return f"{secs:.1f}s"
    if secs < 3600:
        return f"{secs / 60:.1f}min"
    return f"{secs / 3600:.1f}h"


def fmt_ms(ms: Any) -> str:
    """A duration in milliseconds, truncated the way a trace's execution time is (whole ms), so
    a trace list, its detail page and its root span agree: ``<1 ms``, ``734 ms``, ``2.41 s``."""
    if _missing(ms):
        return ""
    v = float(ms)
    if v < 1:
        return "<1 ms"
    if v < 1000:
        return f"{int(v)} ms"
    return f"{int(v / 10) / 100:.2f} s"


def fmt_value(v: Any) -> str:
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return str(v)
        return f"{v:.6g}"
    return "" if v is None else str(v)


def _env(prefix: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(os.path.join(HERE, "templates")),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["time"] = fmt_time
    env.filters["value"] = fmt_value
    env.filters["ms"] = fmt_ms
    env.globals["duration"] = fmt_duration
    env.globals["P"] = prefix
    env.globals["UPLOT"] = UPLOT
    env.globals["SV"] = STATIC_VERSION
    return env


class Ui:
    """What page views share: the server context, the URL prefix and the template environment."""

    def __init__(self, ctx: Any, prefix: str) -> None:
        self.ctx = ctx
        self.prefix = prefix
        self.env = _env(prefix)

    @property
    def store(self) -> Any:
        return self.ctx.tracking_store

    @property
    def registry(self) -> Any:
        reg = self.ctx.registry_store
        if reg is None:
            raise LabkeepException("The model registry is not available.", error_code="NOT_IMPLEMENTED")
        return reg

    def url(self, route: str, **query: Any) -> str:
        q = {k: v for k, v in query.items() if v not in (None, "", [])}
        return f"{self.prefix}{route}" + (("?" + urlencode(q, doseq=True)) if q else "")

    def render(self, template: str, data: dict[str, Any], status: int = 200) -> HTMLResponse:
        html = self.env.get_template(template).render(**data)
        return HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)

    def page(self, request: Request, template: str, data: dict[str, Any], json_data: Any = None) -> Response:
        """HTML page, or its JSON twin (``json_data`` or ``data`` minus template-only helpers)."""
        if wants_json(request):
            return json_response(json_data if json_data is not None else data)
        return self.render(template, {"current_user": request.scope.get("user"), **data})

    def error(self, request: Request, exc: LabkeepException) -> Response:
        if wants_json(request) or request.scope.get("labkeep_json_errors"):
            return json_response({"error_code": exc.error_code, "message": exc.message}, exc.http_status)
        data = {"message": exc.message, "code": exc.error_code, "current_user": request.scope.get("user")}
        return self.render("error.html", data, exc.http_status)

    def redirect(self, path: str, **query: Any) -> RedirectResponse:
        return RedirectResponse(self.url(path, **query), status_code=303)


# Pages load only same-origin scripts and styles; inline scripts are not used.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline';"
    " frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def json_default(o: Any) -> Any:
    if hasattr(o, "to_dict"):
        return o.to_dict()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _clean(o: Any) -> Any:
    """NaN/inf → strings (MLflow's JSON spelling), so the body stays strict JSON."""
    if isinstance(o, float) and (o != o or o in (float("inf"), float("-inf"))):
        return "NaN" if o != o else ("Infinity" if o > 0 else "-Infinity")
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if hasattr(o, "to_dict"):
        return _clean(o.to_dict())
    return o


def json_response(data: Any, status: int = 200) -> Response:
    body = json.dumps(_clean(data), separators=(",", ":"), allow_nan=False, default=json_default)
    return Response(body, status_code=status, media_type="application/json")


def wants_json(request: Request) -> bool:
    if request.scope.get("labkeep_json"):
        return True
    return "application/json" in request.headers.get("accept", "").split(",")[0]


def strip_json(request: Request, value: str) -> str:
    """A path segment without its ``.json`` suffix (marking the request as a JSON twin)."""
    if value.endswith(".json"):
        request.scope["labkeep_json"] = True
        return value[: -len(".json")]
    return value


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form body as a dict (first value per field); no multipart parser needed."""
    from urllib.parse import parse_qs

    body = (await request.body())[: 1024 * 1024].decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def same_origin(request: Request) -> bool:
    """A state-changing request must come from a page of this server (Origin, else Referer)."""
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return urlparse(origin).netloc == host
    referer = request.headers.get("referer")
    if referer:
        return urlparse(referer).netloc == host
    return False


def forbidden_cross_site() -> Response:
    return Response(
        "Cross-site request refused: state-changing requests must come from this server's pages.",
        status_code=403,
        media_type="text/plain",
    )
