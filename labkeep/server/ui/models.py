"""Registry pages: ``/models``, ``/models/<name>``, ``/models/<name>/versions/<v>``."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.server.ui.common import Ui, read_form, strip_json
from labkeep.server.ui.logged_models import model_id_of_source
from labkeep.server.ui.runs_table import quote_value

STAGES = ["None", "Staging", "Production", "Archived"]


def _version_dict(mv: Any) -> dict[str, Any]:
    return {
        "name": mv.name,
        "version": mv.version,
        "stage": mv.current_stage,
        "aliases": list(mv.aliases or []),
        "run_id": mv.run_id,
        "source": mv.source,
        "status": mv.status,
        "description": mv.description or "",
        "creation_timestamp": mv.creation_timestamp,
        "last_updated_timestamp": mv.last_updated_timestamp,
        "user_id": mv.user_id,
        "tags": dict(mv.tags or {}),
        "model_id": mv.model_id or model_id_of_source(mv.source),
    }


def models_page(ui: Ui, request: Request) -> Response:
    q = request.query_params.get("q", "").strip()
    reg = ui.registry
    filt = f"name ILIKE {quote_value('%' + q + '%')}" if q else None
    models = list(reg.search_registered_models(filter_string=filt, max_results=1000))
    rows = []
    for m in models:
        latest = {mv.current_stage: mv.version for mv in m.latest_versions}
        rows.append(
            {
                "name": m.name,
                "description": m.description or "",
                "latest": latest,
                "aliases": dict(m.aliases or {}),
                "last_updated_timestamp": m.last_updated_timestamp,
                "tags": dict(m.tags or {}),
            }
        )
    return ui.page(request, "models.html", {"models": rows, "q": q, "stages": STAGES})


def model_page(ui: Ui, request: Request, name: str) -> Response:
    name = strip_json(request, name)
    reg = ui.registry
    m = reg.get_registered_model(name)
    versions = list(reg.search_model_versions(f"name = {quote_value(name)}", max_results=10000))
    versions.sort(key=lambda mv: -int(mv.version))
    data = {
        "model": {
            "name": m.name,
            "description": m.description or "",
            "tags": dict(m.tags or {}),
            "aliases": dict(m.aliases or {}),
            "creation_timestamp": m.creation_timestamp,
            "last_updated_timestamp": m.last_updated_timestamp,
        },
        "versions": [_version_dict(mv) for mv in versions],
    }
    return ui.page(request, "model.html", data)


def _signature(ui: Ui, name: str, version: str) -> dict[str, Any] | None:
    """The version's MLmodel summary (flavors, signature), read from its download URI."""
    from labkeep.server.ui.artifacts import model_summary

    try:
        uri = ui.registry.get_model_version_download_uri(name, version)
        return model_summary(ui.ctx, uri, "")
    except (LabkeepException, OSError):
        return None


def version_page(ui: Ui, request: Request, name: str, version: str) -> Response:
    version = strip_json(request, version)
    reg = ui.registry
    mv = reg.get_model_version(name, version)
    history = [
        {
            "kind": e.kind,
            "subject": e.subject,
            "from": e.from_value,
            "to": e.to_value,
            "user_id": e.user_id,
            "timestamp": e.timestamp,
            "comment": e.comment,
        }
        for e in reg.get_promotion_history(name, version)
    ]
    data = {
        "version": _version_dict(mv),
        "history": history,
        "mlmodel": _signature(ui, name, version),
        "stages": STAGES,
    }
    return ui.page(request, "version.html", data)


async def version_action(ui: Ui, request: Request, name: str, version: str) -> Response:
    """POST: transition | set_alias | delete_alias | description."""
    form = await read_form(request)
    action = str(form.get("action", ""))

    def do() -> Response:
        reg = ui.registry
        comment = str(form.get("comment", "")).strip() or None
        if action == "transition":
            reg.transition_model_version_stage(
                name,
                version,
                str(form.get("stage", "")),
                archive_existing_versions=form.get("archive_existing") == "on",
                comment=comment,
            )
        elif action == "set_alias":
            alias = str(form.get("alias", "")).strip()
            if not alias:
                raise InvalidParameterValue("Give the alias a name.")
            reg.set_registered_model_alias(name, alias, version, comment=comment)
        elif action == "delete_alias":
            reg.delete_registered_model_alias(name, str(form.get("alias", "")), comment=comment)
        elif action == "description":
            reg.update_model_version(name, version, description=str(form.get("value", "")))
        else:
            raise InvalidParameterValue(f"Unknown action {action!r}.")
        return ui.redirect(f"/models/{name}/versions/{version}")

    return await anyio.to_thread.run_sync(do)


async def model_action(ui: Ui, request: Request, name: str) -> Response:
    form = await read_form(request)
    action = str(form.get("action", ""))

    def do() -> Response:
        if action == "description":
            ui.registry.update_registered_model(name, str(form.get("value", "")))
        else:
            raise InvalidParameterValue(f"Unknown action {action!r}.")
        return ui.redirect(f"/models/{name}")

    return await anyio.to_thread.run_sync(do)
