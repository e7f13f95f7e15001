"""Registry pages: ``/models``, ``/models/<name>``, ``/models/<name>/versions/<v>``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from labkeep.entities import ModelVersionTag, RegisteredModelTag
from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.server.ui import permissions
from labkeep.server.ui.common import Ui, read_form, strip_json
from labkeep.server.ui.logged_models import model_id_of_source
from labkeep.server.ui.permissions import require_edit
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
    models = permissions.readable(
        request, "registered_model", list(reg.search_registered_models(filter_string=filt, max_results=1000)),
        lambda m: m.name,
    )
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
        "editable": permissions.can_edit(request, ("registered_model", m.name)),
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
        "editable": permissions.can_edit(request, ("model_version", name, version)),
    }
    return ui.page(request, "version.html", data)


# ---------------------------------------------------------------- edits
# One small function per action: (ui, form, name[, version]) -> the page to go to next (None: the
# page the form was on). model_action / version_action check ``require_edit`` once before any.


def _form_key(form: dict[str, str]) -> str:
    key = form.get("key", "").strip()
    if not key:
        raise InvalidParameterValue("A tag needs a key.")
    return key


def _model_description(ui: Ui, form: dict[str, str], name: str) -> str | None:
    ui.registry.update_registered_model(name, form.get("value", ""))
    return None


def _model_set_tag(ui: Ui, form: dict[str, str], name: str) -> str | None:
    ui.registry.set_registered_model_tag(name, RegisteredModelTag(_form_key(form), form.get("value", "")))
    return None


def _model_delete_tag(ui: Ui, form: dict[str, str], name: str) -> str | None:
    ui.registry.delete_registered_model_tag(name, _form_key(form))
    return None


def _model_delete(ui: Ui, form: dict[str, str], name: str) -> str | None:
    ui.registry.delete_registered_model(name)
    return "/models"


MODEL_ACTIONS: dict[str, Callable[[Ui, dict[str, str], str], str | None]] = {
    "description": _model_description,
    "set_tag": _model_set_tag,
    "delete_tag": _model_delete_tag,
    "delete": _model_delete,
}


def _version_transition(ui: Ui, form: dict[str, str], name: str, version: str) -> str | None:
    ui.registry.transition_model_version_stage(
        name,
        version,
        form.get("stage", ""),
        archive_existing_versions=form.get("archive_existing") == "on",
        comment=form.get("comment", "").strip() or None,
    )
    return None


def _version_set_alias(ui: Ui, form: dict[str, str], name: str, version: str) -> str | None:
    alias = form.get("alias", "").strip()
    if not alias:
        raise InvalidParameterValue("Give the alias a name.")
    ui.registry.set_registered_model_alias(name, alias, version, comment=form.get("comment", "").strip() or None)
    return None


def _version_delete_alias(ui: Ui, form: dict[str, str], name: str, version: str) -> str | None:
    ui.registry.delete_registered_model_alias(name, form.get("alias", ""), comment=form.get("comment") or None)
    return None


def _version_description(ui: Ui, form: dict[str, str], name: str, version: str) -> str | None:
    ui.registry.update_model_version(name, version, description=form.get("value", ""))
    return None


def _version_set_tag(ui: Ui, form: dict[str, str], name: str, version: str) -> str | None:
    ui.registry.set_model_version_tag(name, version, ModelVersionTag(_form_key(form), form.get("value", "")))
    return None


def _version_delete_tag(ui: Ui, form: dict[str, str], name: str, version: str) -> str | None:
    ui.registry.delete_model_version_tag(name, version, _form_key(form))
    return None


def _version_delete(ui: Ui, form: dict[str, str], name: str, version: str) -> str | None:
    ui.registry.delete_model_version(name, version)
    return f"/models/{quote(name, safe='')}"


VERSION_ACTIONS: dict[str, Callable[[Ui, dict[str, str], str, str], str | None]] = {
    "transition": _version_transition,
    "set_alias": _version_set_alias,
    "delete_alias": _version_delete_alias,
    "description": _version_description,
    "set_tag": _version_set_tag,
    "delete_tag": _version_delete_tag,
    "delete": _version_delete,
}


async def version_action(ui: Ui, request: Request, name: str, version: str) -> Response:
    """POST: one of ``VERSION_ACTIONS`` (form field ``action``), after the permission check."""
    form = await read_form(request)
    act = VERSION_ACTIONS.get(form.get("action", ""))
    if act is None:
        raise InvalidParameterValue(f"Unknown action {form.get('action', '')!r}.")

    def do() -> Response:
        require_edit(request, ("model_version", name, version))
        target = act(ui, form, name, version)
        return ui.redirect(target or f"/models/{quote(name, safe='')}/versions/{version}")

    return await anyio.to_thread.run_sync(do)


async def model_action(ui: Ui, request: Request, name: str) -> Response:
    """POST: one of ``MODEL_ACTIONS`` (form field ``action``), after the permission check."""
    form = await read_form(request)
    act = MODEL_ACTIONS.get(form.get("action", ""))
    if act is None:
        raise InvalidParameterValue(f"Unknown action {form.get('action', '')!r}.")

    def do() -> Response:
        require_edit(request, ("registered_model", name))
        target = act(ui, form, name)
        return ui.redirect(target or f"/models/{quote(name, safe='')}")

    return await anyio.to_thread.run_sync(do)
