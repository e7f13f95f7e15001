"""Logged models (``log_model``'s ``models:/m-…``) in the UI: the run page's model cards, the
logged-model page (``/logged-models/<model_id>``) and the artifact root behind either.

A card holds what a user checks before serving or registering a model: flavors, signature, input
example, the files (MLmodel, requirements, environments) with previews, and the registered
versions built from it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labkeep.exceptions import LabkeepException
from labkeep.server.ui import artifacts as arts
from labkeep.server.ui.common import Ui, strip_json

MODELS_URI = "models:/"


def model_id_of_source(source: str | None) -> str | None:
    """The logged model id in a version source ``models:/m-…`` (None for other sources)."""
    if source and source.startswith(MODELS_URI + "m-"):
        return source[len(MODELS_URI) :].split("/", 1)[0]
    return None


def _versions_of(ui: Ui, lm: Any) -> list[dict[str, Any]]:
    """Registered versions built from this logged model (found through its source run)."""
    reg = ui.ctx.registry_store
    if reg is None or not lm.source_run_id:
        return []
    try:
        found = reg.search_model_versions(f"run_id = '{lm.source_run_id}'", max_results=200)
    except LabkeepException:
        return []
    return [
        {"name": mv.name, "version": mv.version, "stage": mv.current_stage}
        for mv in found
        if mv.model_id == lm.model_id or model_id_of_source(mv.source) == lm.model_id
    ]


def model_card(ui: Ui, lm: Any) -> dict[str, Any]:
    """What the UI shows for one logged model entity."""
    root = lm.artifact_location
    try:
        summary = arts.model_summary(ui.ctx, root, "")
        files = arts.list_artifacts(ui.ctx, root, "")
    except (LabkeepException, OSError) as exc:  # an unreachable artifact store is shown, not raised
        summary, files = {"error": str(exc), "flavors": [], "signature": None}, []
    return {
        "model_id": lm.model_id,
        "name": lm.name,
        "status": lm.status.replace("LOGGED_MODEL_", ""),
        "model_type": lm.model_type,
        "source_run_id": lm.source_run_id,
        "experiment_id": lm.experiment_id,
        "creation_timestamp": lm.creation_timestamp,
        "uri": f"{MODELS_URI}{lm.model_id}",
        "artifact_uri": root,
        "mlmodel": summary,
        "files": files,
        "params": sorted(lm.params.items()),
        "tags": sorted(lm.tags.items()),
        "versions": _versions_of(ui, lm),
    }


def models_of_run(ui: Ui, run: Any) -> list[dict[str, Any]]:
    """Cards for the logged models whose source is this run (newest first)."""
    try:
        found = ui.store.search_logged_models(
            [run.info.experiment_id],
            filter_string=f"source_run_id = '{run.info.run_id}'",
            max_results=50,
            order_by=[{"field_name": "creation_timestamp", "ascending": False}],
        )
    except (LabkeepException, AttributeError, NotImplementedError):
        return []
    return [model_card(ui, lm) for lm in found]


def artifact_root(ui: Ui, request: Request) -> tuple[str, dict[str, str], str]:
    """(artifact root URI, owner query args, owner label) for the artifact islands:
    ``model_id=<m-…>`` selects a logged model, else ``run_id=<id>`` a run."""
    model_id = request.query_params.get("model_id", "")
    if model_id:
        lm = ui.store.get_logged_model(model_id)
        return lm.artifact_location, {"model_id": model_id}, f"logged model {model_id}"
    run = ui.store.get_run(request.query_params.get("run_id", ""))
    return run.info.artifact_uri, {"run_id": run.info.run_id}, f"run {run.info.run_id}"


def logged_model_page(ui: Ui, request: Request, model_id: str) -> Response:
    model_id = strip_json(request, model_id)
    lm = ui.store.get_logged_model(model_id)
    exp = ui.store.get_experiment(lm.experiment_id)
    run = None
    if lm.source_run_id:
        try:
            r = ui.store.get_run(lm.source_run_id)
            run = {"run_id": r.info.run_id, "run_name": r.info.run_name}
        except LabkeepException:
            run = {"run_id": lm.source_run_id, "run_name": lm.source_run_id}
    data = {
        "model": model_card(ui, lm),
        "experiment": {"experiment_id": exp.experiment_id, "name": exp.name},
        "run": run,
        "registered_names": registered_names(ui),
    }
    return ui.page(request, "logged_model.html", data)


def registered_names(ui: Ui, limit: int = 500) -> list[str]:
    """Existing registered model names (suggestions for the "register" form)."""
    reg = ui.ctx.registry_store
    if reg is None:
        return []
    try:
        return sorted(m.name for m in reg.search_registered_models(max_results=limit))
    except LabkeepException:
        return []


async def logged_model_action(ui: Ui, request: Request, model_id: str) -> Response:
    """POST /logged-models/<id>/action: ``register`` (form field ``name``) creates the registered
    model when it is new and a version whose source is ``models:/<id>``."""
    from urllib.parse import quote

    import anyio.to_thread

    from labkeep.exceptions import InvalidParameterValue
    from labkeep.server.ui.common import read_form
    from labkeep.server.ui.permissions import require_edit

    form = await read_form(request)
    action = form.get("action", "")
    name = form.get("name", "").strip()

    def register() -> Response:
        if not name:
            raise InvalidParameterValue("Name the registered model to register this model under.")
        require_edit(request, ("registered_model", name))
        lm = ui.store.get_logged_model(model_id)
        reg = ui.registry
        try:
            reg.get_registered_model(name)
        except LabkeepException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            reg.create_registered_model(name)
        mv = reg.create_model_version(
            name, f"{MODELS_URI}{lm.model_id}", run_id=lm.source_run_id, model_id=lm.model_id
        )
        return ui.redirect(f"/models/{quote(name, safe='')}/versions/{mv.version}")

    if action != "register":
        raise InvalidParameterValue(f"Unknown action {action!r}.")
    return await anyio.to_thread.run_sync(register)
