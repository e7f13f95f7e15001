"""``create_app(settings)``: the Starlette app serving the REST API, artifact proxy and pages."""

from __future__ import annotations

import re
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware

from labkeep.server.api import routes as table
from labkeep.server.api.common import ApiContext
from labkeep.server.api.dispatch import ApiDispatcher
from labkeep.server.api.routes import ApiRoute
from labkeep.server.security import SecurityMiddleware
from labkeep.server.settings import ServerSettings
from labkeep.server.ui import routes as ui_routes


def full_route_table(static_prefix: str = "") -> list[ApiRoute]:
    """Every API route with its full path (both /api and /ajax-api mirrors, static prefix applied)."""
    p = static_prefix.rstrip("/")
    rows: list[ApiRoute] = []
    for base in ("/api", "/ajax-api"):
        rows += [r._replace(path=f"{p}{base}{r.path}") for r in table.ROUTES]
        rows += [r._replace(path=f"{p}{base}{table.ARTIFACT_PREFIX}{r.path}") for r in table.ARTIFACT_ROUTES]
    rows += [r._replace(path=f"{p}/ajax-api{r.path}") for r in table.AJAX_ONLY_ROUTES]
    rows += [r._replace(path=f"{p}{r.path}") for r in table.TOP_ROUTES]
    from labkeep.server.auth.access import rule_for, ui_rule_for

    rows = [r._replace(access=rule_for(r.handler)) for r in rows]
    return rows + [
        r._replace(path=f"{p}{r.path}", access=ui_rule_for(r.handler)) for r in ui_routes.page_table()
    ]


_ARTIFACT_TAIL = re.compile(r"^(.*?/mlflow-artifacts/+(?:artifacts|mpu/+[a-z]+)/)(.*)$", re.S)


class ApiMiddleware:
    """Answers table routes itself; everything else goes on to the page routes."""

    def __init__(self, app: Any, dispatcher: ApiDispatcher, api_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.dispatcher = dispatcher
        self.api_prefixes = api_prefixes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if "//" in path:  # repeated slashes name the same route, as in mlflow's server
                # ...but an artifact path after the proxy prefix stays as sent ("//etc/passwd" is
                # an absolute path and is refused, not quietly made relative)
                m = _ARTIFACT_TAIL.match(path)
                head, tail = (m.group(1), m.group(2)) if m else (path, "")
                path = re.sub("/{2,}", "/", head) + tail
                scope = {**scope, "path": path}
            if path in self.dispatcher.exact or path.startswith(self.api_prefixes):
                await self.dispatcher(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _thread_pool_lifespan(threads: int) -> Any:
    """Size anyio's default thread limiter, which every store call of the server goes through."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Any) -> Any:
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    return lifespan


def build_context(settings: ServerSettings) -> ApiContext:
    from labkeep.server.stores import open_stores

    tracking, registry, artifact_store = open_stores(settings)
    ctx = ApiContext(
        tracking_store=tracking,
        registry_store=registry,
        artifact_root=settings.artifacts_destination or "",
        settings=settings,
    )
    ctx.extras["artifact_store"] = artifact_store
    if settings.auth_enabled:
        ctx.extras["auth"] = open_auth(settings, tracking, registry)
    return ctx


def open_auth(settings: ServerSettings, tracking: Any, registry: Any) -> Any:
    """The auth service over the tracking database; creates the first admin when there are no users."""
    from labkeep.server.auth.bootstrap import bootstrap_admin
    from labkeep.server.auth.secrets import ensure_available
    from labkeep.server.auth.service import AuthService
    from labkeep.server.auth.store import AuthStore

    ensure_available()
    store = AuthStore(tracking.db)
    bootstrap_admin(store)
    return AuthService(store, tracking, registry, settings)


def create_app(settings: ServerSettings, ctx: ApiContext | None = None) -> Starlette:
    """The server app for ``settings`` (``ctx`` lets tests inject ready-made stores)."""
    ctx = ctx or build_context(settings)
    prefix = settings.static_prefix.rstrip("/")
    api_paths = (f"{prefix}/api/", f"{prefix}/ajax-api/")
    top = {f"{prefix}{r.path}" for r in table.TOP_ROUTES}
    dispatcher = ApiDispatcher(
        ctx, [r for r in full_route_table(prefix) if r.path.startswith(api_paths) or r.path in top]
    )
    page_routes = ui_routes.build_routes(ctx, prefix)
    app = Starlette(
        routes=page_routes,
        lifespan=_thread_pool_lifespan(settings.threads),
        middleware=[
            Middleware(SecurityMiddleware, settings=settings),
            Middleware(
                ApiMiddleware, dispatcher=dispatcher, api_prefixes=(f"{prefix}/api/", f"{prefix}/ajax-api/")
            ),
        ],
    )
    app.state.ctx = ctx
    return app
