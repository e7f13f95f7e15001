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
    return rows


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
                path = re.sub("/{2,}", "/", path)
                scope = {**scope, "path": path}
            if path in self.dispatcher.exact or path.startswith(self.api_prefixes):
                await self.dispatcher(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
    return ctx


def create_app(settings: ServerSettings, ctx: ApiContext | None = None) -> Starlette:
    """The server app for ``settings`` (``ctx`` lets tests inject ready-made stores)."""
    ctx = ctx or build_context(settings)
    prefix = settings.static_prefix.rstrip("/")
    dispatcher = ApiDispatcher(ctx, full_route_table(prefix))
    page_routes = ui_routes.build_routes(ctx, prefix)
    app = Starlette(
        routes=page_routes,
        middleware=[
            Middleware(SecurityMiddleware, settings=settings),
            Middleware(
                ApiMiddleware, dispatcher=dispatcher, api_prefixes=(f"{prefix}/api/", f"{prefix}/ajax-api/")
            ),
        ],
    )
    app.state.ctx = ctx
    return app
