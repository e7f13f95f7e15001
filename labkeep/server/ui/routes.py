"""The web UI's route table: ``build_routes(ctx, prefix)`` is called by ``server.app.create_app``.

Every page has a JSON twin (``.json`` suffix or ``Accept: application/json``). State-changing
routes are POST only and refuse requests whose Origin (or Referer) is not this server.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from labkeep.exceptions import LabkeepException
from labkeep.server.ui import (
    compare,
    eval_compare,
    experiments,
    logged_models,
    models,
    run_page,
    runs_table,
    traces,
)
from labkeep.server.ui.common import HERE, Ui, forbidden_cross_site, same_origin

log = logging.getLogger("labkeep.server.ui")


def _endpoint(
    ui: Ui, view: Callable[..., Any], post: bool = False, json_errors: bool = False, access: Any = None
) -> Callable[[Request], Any]:
    """Wrap ``view(ui, request, **path_params)``: errors become pages/JSON, POSTs are origin-checked,
    and with auth on the caller is authenticated and checked against the page's ``access``."""
    is_async = inspect.iscoroutinefunction(view)

    async def endpoint(request: Request) -> Response:
        if post and not same_origin(request):
            return forbidden_cross_site()
        if json_errors:  # the JSON islands' endpoints answer errors as {"error_code", "message"}
            request.scope["labkeep_json_errors"] = True
        auth = ui.ctx.extras.get("auth")
        if auth is not None:
            from labkeep.server.auth.ui import authorize_page

            denied = await authorize_page(ui, auth, access, request)
            if denied is not None:
                return denied
        try:
            if is_async:
                return await view(ui, request, **request.path_params)
            return await anyio.to_thread.run_sync(lambda: view(ui, request, **request.path_params))
        except LabkeepException as exc:
            return ui.error(request, exc)
        except Exception:  # never a traceback in a page
            log.exception("UI view %s failed", getattr(view, "__name__", view))
            return ui.error(
                request, LabkeepException("Internal error; see the server log.", error_code="INTERNAL_ERROR")
            )

    return endpoint


def json_twin(view: Callable[..., Any]) -> Callable[..., Any]:
    """The JSON twin of a page view (same access rule: ``__wrapped__`` names the page view)."""

    def twin(ui: Ui, request: Request, **kw: Any) -> Response:
        request.scope["labkeep_json"] = True
        return view(ui, request, **kw)

    twin.__wrapped__ = view  # type: ignore[attr-defined]
    return twin


def page_table() -> list[Any]:
    """Every UI route as ``ApiRoute(methods, path, view)`` (paths without the static prefix)."""
    from labkeep.server.api.routes import ApiRoute
    from labkeep.server.auth import ui as auth_ui

    G, P = ("GET", "HEAD"), ("POST",)
    return [
        ApiRoute(G, "/", experiments.experiments_page),
        ApiRoute(G, "/experiments.json", json_twin(experiments.experiments_page)),
        ApiRoute(P, "/experiments/action", experiments.experiment_action),
        ApiRoute(G, "/experiments/{experiment_id}", runs_table.runs_page),
        ApiRoute(G, "/runs/{run_id}", run_page.run_page),
        ApiRoute(P, "/runs/{run_id}/action", run_page.run_action),
        ApiRoute(G, "/logged-models/{model_id}", logged_models.logged_model_page),
        ApiRoute(P, "/logged-models/{model_id}/action", logged_models.logged_model_action),
        ApiRoute(G, "/compare", compare.compare_page),
        ApiRoute(G, "/compare.json", json_twin(compare.compare_page)),
        ApiRoute(G, "/models", models.models_page),
        ApiRoute(G, "/models.json", json_twin(models.models_page)),
        ApiRoute(G, "/models/{name}", models.model_page),
        ApiRoute(P, "/models/{name}/action", models.model_action),
        ApiRoute(G, "/models/{name}/versions/{version}", models.version_page),
        ApiRoute(P, "/models/{name}/versions/{version}/action", models.version_action),
        ApiRoute(G, "/ui-api/columns", runs_table.columns_api),
        ApiRoute(G, "/ui-api/run-count", runs_table.count_api),
        ApiRoute(G, "/ui-api/children", runs_table.children_api),
        ApiRoute(G, "/ui-api/group-series", runs_table.group_series_api),
        ApiRoute(G, "/ui-api/metric-series", run_page.series_api),
        ApiRoute(G, "/ui-api/run-live", run_page.live_api),
        ApiRoute(G, "/ui-api/artifacts", run_page.artifacts_api),
        ApiRoute(G, "/ui-api/artifact-preview", run_page.preview_api),
        ApiRoute(G, "/ui-api/artifact-raw", run_page.raw_api),
        ApiRoute(G, "/experiments/{experiment_id}/models", experiments.logged_models_page),
        ApiRoute(G, "/experiments/{experiment_id}/models.json", json_twin(experiments.logged_models_page)),
        # LLM traces
        ApiRoute(G, "/experiments/{experiment_id}/traces", traces.traces_page),
        ApiRoute(G, "/experiments/{experiment_id}/traces.json", json_twin(traces.traces_page)),
        ApiRoute(G, "/traces/{trace_id}", traces.trace_page),
        ApiRoute(G, "/compare-eval", eval_compare.eval_compare_page),
        ApiRoute(G, "/compare-eval.json", json_twin(eval_compare.eval_compare_page)),
        # sign-in, sign-out and personal access tokens (answer 404 while auth is off)
        ApiRoute(G, "/login", auth_ui.login_page),
        ApiRoute(P, "/login", auth_ui.login_submit),
        ApiRoute(P, "/logout", auth_ui.logout),
        ApiRoute(G, "/account", auth_ui.account_page),
        ApiRoute(P, "/account/tokens", auth_ui.token_action),
        ApiRoute(G, "/admin/users", auth_ui.users_page),
        ApiRoute(P, "/admin/users", auth_ui.users_action),
    ]


def build_routes(ctx: Any, prefix: str) -> list[Any]:
    from labkeep.server.auth.access import ui_rule_for

    ui = Ui(ctx, prefix)
    out: list[Any] = []
    for route in page_table():
        post = route.methods == ("POST",)
        islands = route.path.startswith("/ui-api/")
        endpoint = _endpoint(ui, route.handler, post=post, json_errors=islands, access=ui_rule_for(route.handler))
        out.append(Route(f"{prefix}{route.path}", endpoint, methods=list(route.methods)))
    out.append(Mount(f"{prefix}/static", app=StaticFiles(directory=os.path.join(HERE, "static")), name="static"))
    return out
