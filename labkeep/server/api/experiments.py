"""Experiment endpoints (``/api/2.0/mlflow/experiments/...``)."""

from __future__ import annotations

import os
from typing import Any

from labkeep.entities import RunTag, ViewType
from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.server.api.common import ApiContext, ApiRequest, check_uri_confined, invalid_value, missing_value


def _experiment_id(req: ApiRequest) -> str:
    value = req.get_str("experiment_id", required=True)
    if not value.isdigit():
        raise InvalidParameterValue(f"Invalid experiment_id {value!r}: must be an integer id such as '1'.")
    return value


def tags_from(req: ApiRequest, name: str = "tags") -> list[RunTag]:
    out = []
    for i, t in enumerate(req.get_dicts(name)):
        key = t.get("key")
        if key is None or key == "":
            raise missing_value(f"{name}[{i}].key")
        if not isinstance(key, str):
            raise invalid_value(f"{name}[{i}].key", key)
        value = t.get("value", "")
        if value is None:
            value = ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise invalid_value(f"{name}[{i}].value", value)
        out.append(RunTag(key, str(value)))
    return out


def view_type(req: ApiRequest, name: str) -> int:
    value = req.raw(name)
    if value is None or value == "":
        return ViewType.ACTIVE_ONLY
    return ViewType.from_string(value)


def get_experiment_by_name(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    name = req.get_str("experiment_name", required=True)
    exp = ctx.tracking_store.get_experiment_by_name(name)
    if exp is None:
        raise ResourceDoesNotExist(f"Could not find experiment with name '{name}'.")
    return {"experiment": exp.to_dict()}


def create_experiment(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    name = req.get_str("name", required=True)
    location = req.get_str("artifact_location") or None
    tags = tags_from(req)  # every field's type first, as mlflow does, then the location rules
    if location:
        check_uri_confined(location, _local_roots(ctx), what="artifact_location")
        if location.lower().startswith("s3://"):
            from labkeep.server.api.artifacts import check_s3_bucket

            check_s3_bucket(ctx, location)
    exp_id = ctx.tracking_store.create_experiment(name, location, tags)
    return {"experiment_id": str(exp_id)}


def _local_roots(ctx: ApiContext) -> list[str]:
    """The local directories a client-chosen artifact location may point into."""
    from urllib.parse import unquote, urlparse

    roots = [ctx.artifact_root]
    settings = ctx.settings
    if hasattr(settings, "resolved_default_artifact_root"):
        roots.append(settings.resolved_default_artifact_root())
    out = []
    for root in roots:
        if root and root.startswith("file://"):
            root = unquote(urlparse(root).path)
        if root and os.path.isabs(root):
            out.append(root)
    return out


def get_experiment(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    return {"experiment": ctx.tracking_store.get_experiment(_experiment_id(req)).to_dict()}


def search_experiments(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    max_results = req.get_int("max_results", default=1000)
    if max_results is None or max_results < 1 or max_results > 50000:
        raise invalid_value("max_results", max_results, "It must be between 1 and 50000.")
    page = ctx.tracking_store.search_experiments(
        view_type=view_type(req, "view_type"),
        max_results=max_results,
        filter_string=req.get_str("filter") or None,
        order_by=req.get_str_list("order_by") or None,
        page_token=req.get_str("page_token") or None,
    )
    out: dict[str, Any] = {"experiments": [e.to_dict() for e in page]}
    if page.token:
        out["next_page_token"] = page.token
    return out


def delete_experiment(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ctx.tracking_store.delete_experiment(_experiment_id(req))
    return {}


def restore_experiment(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ctx.tracking_store.restore_experiment(_experiment_id(req))
    return {}


def update_experiment(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    exp_id = _experiment_id(req)
    ctx.tracking_store.rename_experiment(exp_id, req.get_str("new_name", required=True))
    return {}


def set_experiment_tag(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    exp_id = _experiment_id(req)
    key = req.get_str("key", required=True)
    ctx.tracking_store.set_experiment_tag(exp_id, RunTag(key, req.get_str("value") or ""))
    return {}


def delete_experiment_tag(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    exp_id = _experiment_id(req)
    ctx.tracking_store.delete_experiment_tag(exp_id, req.get_str("key", required=True))
    return {}
