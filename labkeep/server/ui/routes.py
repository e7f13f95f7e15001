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
    ui: Ui, view: Callable[..., Any], post: bool = False, json_errors: bool = False
) -> Callable[[Request], Any]:
    """Wrap ``view(ui, request, **path_params)``: errors become pages/JSON, POSTs are origin-checked."""
    is_async = inspect.iscoroutinefunction(view)

    async def endpoint(request: Request) -> Response:
        if post and not same_origin(request):
            return forbidden_cross_site()
        if json_errors:  # the JSON islands' endpoints answer errors as {"error_code", "message"}
            request.scope["labkeep_json_errors"] = True
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


def build_routes(ctx: Any, prefix: str) -> list[Any]:
    ui = Ui(ctx, prefix)
    p = prefix

    def get(path: str, view: Callable[..., Any]) -> Route:
        islands = path.startswith("/ui-api/")
        return Route(f"{p}{path}", _endpoint(ui, view, json_errors=islands), methods=["GET", "HEAD"])

    def post(path: str, view: Callable[..., Any]) -> Route:
        return Route(f"{p}{path}", _endpoint(ui, view, post=True), methods=["POST"])

    def json_twin(view: Callable[..., Any]) -> Callable[..., Any]:
        def twin(ui: Ui, request: Request, **kw: Any) -> Response:
            request.scope["labkeep_json"] = True
            return view(ui, request, **kw)

        return twin

    return [
        get("/", experiments.experiments_page),
        get("/experiments.json", json_twin(experiments.experiments_page)),
        post("/experiments/action", experiments.experiment_action),
        get("/experiments/{experiment_id}", runs_table.runs_page),
        get("/runs/{run_id}", run_page.run_page),
        post("/runs/{run_id}/action", run_page.run_action),
        get("/logged-models/{model_id}", logged_models.logged_model_page),
        post("/logged-models/{model_id}/action", logged_models.logged_model_action),
        get("/compare", compare.compare_page),
        get("/compare.json", json_twin(compare.compare_page)),
        get("/models", models.models_page),
        get("/models.json", json_twin(models.models_page)),
        get("/models/{name}", models.model_page),
        post("/models/{name}/action", models.model_action),
        get("/models/{name}/versions/{version}", models.version_page),
        post("/models/{name}/versions/{version}/action", models.version_action),
        get("/ui-api/columns", runs_table.columns_api),
        get("/ui-api/run-count", runs_table.count_api),
        get("/ui-api/children", runs_table.children_api),
        get("/ui-api/group-series", runs_table.group_series_api),
        get("/ui-api/metric-series", run_page.series_api),
        get("/ui-api/run-live", run_page.live_api),
        get("/ui-api/artifacts", run_page.artifacts_api),
        get("/ui-api/artifact-preview", run_page.preview_api),
        get("/ui-api/artifact-raw", run_page.raw_api),
        get("/experiments/{experiment_id}/models", experiments.logged_models_page),
        get("/experiments/{experiment_id}/models.json", json_twin(experiments.logged_models_page)),
        # LLM traces
        get("/experiments/{experiment_id}/traces", traces.traces_page),
        get("/experiments/{experiment_id}/traces.json", json_twin(traces.traces_page)),
        get("/traces/{trace_id}", traces.trace_page),
        get("/compare-eval", eval_compare.eval_compare_page),
        get("/compare-eval.json", json_twin(eval_compare.eval_compare_page)),
        Mount(f"{p}/static", app=StaticFiles(directory=os.path.join(HERE, "static")), name="static"),
    ]
