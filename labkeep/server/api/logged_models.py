"""Logged-model endpoints (MLflow 3, ``/api/2.0/mlflow/logged-models...``)."""

from __future__ import annotations

from typing import Any

from labkeep.entities import LoggedModelStatus
from labkeep.exceptions import InvalidParameterValue
from labkeep.server.api.common import ApiContext, ApiRequest
from labkeep.server.api.experiments import tags_from
from labkeep.server.api.runs import params_from

# Over REST an absent max_results means the proto default (search-grammar.md).
REST_DEFAULT_MAX_RESULTS = 50


def _model_id(req: ApiRequest) -> str:
    return req.get_str("model_id", required=True)


def create_logged_model(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    exp_id = req.get_str("experiment_id", required=True)
    if not exp_id.isdigit():
        raise InvalidParameterValue(f"Invalid experiment_id {exp_id!r}: must be an integer id.")
    model = ctx.tracking_store.create_logged_model(
        experiment_id=exp_id,
        name=req.get_str("name") or None,
        source_run_id=req.get_str("source_run_id") or None,
        tags=tags_from(req),
        params=params_from(req.get_dicts("params")),
        model_type=req.get_str("model_type") or None,
    )
    return {"model": model.to_dict()}


def get_logged_model(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    allow_deleted = bool(req.get_bool("allow_deleted", default=False))
    return {
        "model": ctx.tracking_store.get_logged_model(_model_id(req), allow_deleted=allow_deleted).to_dict()
    }


def finalize_logged_model(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    status = req.raw("status")
    if status is None:
        raise InvalidParameterValue("Missing value for required parameter 'status'.")
    status = LoggedModelStatus.to_string(status)
    return {"model": ctx.tracking_store.finalize_logged_model(_model_id(req), status).to_dict()}


def delete_logged_model(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ctx.tracking_store.delete_logged_model(_model_id(req))
    return {}


def set_logged_model_tags(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ctx.tracking_store.set_logged_model_tags(_model_id(req), tags_from(req))
    return {}


def delete_logged_model_tag(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ctx.tracking_store.delete_logged_model_tag(_model_id(req), req.get_str("tag_key", required=True))
    return {}


def log_logged_model_params(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ctx.tracking_store.log_logged_model_params(_model_id(req), params_from(req.get_dicts("params")))
    return {}


def search_logged_models(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    max_results = req.get_int("max_results", default=REST_DEFAULT_MAX_RESULTS)
    if max_results is None or max_results < 1:
        raise InvalidParameterValue(f"max_results must be a positive integer, got {max_results}.")
    order_by = req.get_list("order_by")
    for o in order_by:
        if not isinstance(o, dict) or not isinstance(o.get("field_name"), str):
            raise InvalidParameterValue("Each order_by entry needs a 'field_name'.")
    page = ctx.tracking_store.search_logged_models(
        experiment_ids=req.get_str_list("experiment_ids"),
        filter_string=req.get_str("filter") or None,
        datasets=req.get_dicts("datasets") or None,
        max_results=max_results,
        order_by=order_by or None,
        page_token=req.get_str("page_token") or None,
    )
    out: dict[str, Any] = {"models": [m.to_dict() for m in page]}
    if page.token:
        out["next_page_token"] = page.token
    return out


def list_logged_model_artifacts(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    from labkeep.server.api.artifacts import list_under_uri

    model = ctx.tracking_store.get_logged_model(_model_id(req))
    path = req.get_str("artifact_directory_path") or ""
    files = list_under_uri(ctx, model.artifact_location, path)
    return {"root_uri": model.artifact_location, "files": files}


def get_logged_model_artifact(ctx: ApiContext, req: ApiRequest) -> Any:
    from labkeep.server.api.artifacts import file_response_for_uri

    model = ctx.tracking_store.get_logged_model(_model_id(req))
    return file_response_for_uri(ctx, model.artifact_location, req.get_str("artifact_file_path", required=True))
