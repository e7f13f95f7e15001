"""Model registry endpoints (rest-api.md §6): ``/api/2.0/mlflow/registered-models/*`` and ``model-versions/*``.

Plus labkeep's promotion history: ``GET /api/2.0/labkeep/registered-models/history`` (name, version?).
Handlers record the requesting user (HTTP Basic user name, else the ``X-Labkeep-User`` header a labkeep
client sends) as the author of version creations, stage transitions and alias changes.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from typing import Any

from labkeep.entities import ModelVersionTag, RegisteredModelTag
from labkeep.exceptions import InvalidParameterValue, LabkeepException, ResourceDoesNotExist
from labkeep.registry.store import acting_user
from labkeep.server.api.common import ApiContext, ApiRequest

USER_HEADER = "x-labkeep-user"


def _request_user(req: ApiRequest) -> str:
    if hasattr(req, "user"):  # auth is on: the authenticated identity, never a client-sent name
        return req.user.username[:256] if req.user is not None else ""
    headers = {k.lower(): v for k, v in req.headers.items()}
    auth = headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            user = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")[0]
            if user:
                return user[:256]
        except (ValueError, UnicodeDecodeError):
            pass
    # "" means "unknown": the store then records no user rather than the server's own account.
    return headers.get(USER_HEADER, "")[:256]


def _handler(func: Callable[[Any, ApiRequest], dict[str, Any]]) -> Callable[[ApiContext, ApiRequest], dict[str, Any]]:
    """Run with the request's user as the acting user, against the registry store."""

    @functools.wraps(func)
    def wrapper(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
        store = ctx.registry_store
        if store is None:
            raise LabkeepException(
                "The model registry is not available on this server.", error_code="NOT_IMPLEMENTED"
            )
        token = acting_user.set(_request_user(req))
        try:
            return func(store, req)
        finally:
            acting_user.reset(token)

    return wrapper


def _name(req: ApiRequest) -> str:
    return req.get_str("name", required=True)


def _version(req: ApiRequest) -> str:
    return req.get_str("version", required=True)


def _tags(req: ApiRequest, cls: type) -> list[Any]:
    out = []
    for t in req.get_dicts("tags"):
        key = t.get("key")
        if not isinstance(key, str) or not key:
            raise InvalidParameterValue("Each entry of 'tags' needs a string 'key'.")
        value = t.get("value", "")
        if value is None:
            value = ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidParameterValue(f"The value of tag {key!r} must be a string.")
        out.append(cls(key, str(value)))
    return out


def _page(items: list[Any], key: str, token: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {key: [x.to_dict() for x in items]}
    if token:
        body["next_page_token"] = token
    return body


# ---------------------------------------------------------------- registered models
@_handler
def create_registered_model(store: Any, req: ApiRequest) -> dict[str, Any]:
    model = store.create_registered_model(
        _name(req), _tags(req, RegisteredModelTag), req.get_str("description"), req.get_str("deployment_job_id")
    )
    return {"registered_model": model.to_dict()}


@_handler
def rename_registered_model(store: Any, req: ApiRequest) -> dict[str, Any]:
    model = store.rename_registered_model(_name(req), req.get_str("new_name", required=True))
    return {"registered_model": model.to_dict()}


@_handler
def update_registered_model(store: Any, req: ApiRequest) -> dict[str, Any]:
    model = store.update_registered_model(_name(req), req.get_str("description"), req.get_str("deployment_job_id"))
    return {"registered_model": model.to_dict()}


@_handler
def delete_registered_model(store: Any, req: ApiRequest) -> dict[str, Any]:
    store.delete_registered_model(_name(req))
    return {}


@_handler
def get_registered_model(store: Any, req: ApiRequest) -> dict[str, Any]:
    return {"registered_model": store.get_registered_model(_name(req)).to_dict()}


@_handler
def search_registered_models(store: Any, req: ApiRequest) -> dict[str, Any]:
    page = store.search_registered_models(
        req.get_str("filter"), req.get_int("max_results"), req.get_str_list("order_by"), req.get_str("page_token")
    )
    return _page(page, "registered_models", page.token)


@_handler
def get_latest_versions(store: Any, req: ApiRequest) -> dict[str, Any]:
    versions = store.get_latest_versions(_name(req), req.get_str_list("stages") or None)
    return {"model_versions": [v.to_dict() for v in versions]}


@_handler
def set_registered_model_tag(store: Any, req: ApiRequest) -> dict[str, Any]:
    store.set_registered_model_tag(
        _name(req), RegisteredModelTag(req.get_str("key", required=True), req.get_str("value") or "")
    )
    return {}


@_handler
def delete_registered_model_tag(store: Any, req: ApiRequest) -> dict[str, Any]:
    store.delete_registered_model_tag(_name(req), req.get_str("key", required=True))
    return {}


# ---------------------------------------------------------------- aliases
@_handler
def set_registered_model_alias(store: Any, req: ApiRequest) -> dict[str, Any]:
    store.set_registered_model_alias(
        _name(req), req.get_str("alias", required=True), _version(req), comment=req.get_str("comment")
    )
    return {}


@_handler
def delete_registered_model_alias(store: Any, req: ApiRequest) -> dict[str, Any]:
    store.delete_registered_model_alias(
        _name(req), req.get_str("alias", required=True), comment=req.get_str("comment")
    )
    return {}


@_handler
def get_model_version_by_alias(store: Any, req: ApiRequest) -> dict[str, Any]:
    name, alias = _name(req), req.get_str("alias", required=True)
    try:
        version = store.get_model_version_by_alias(name, alias)
    except ResourceDoesNotExist:
        store.get_registered_model(name)  # an unknown model stays a 404
        # The reference server answers an unknown alias with 400 INVALID_PARAMETER_VALUE.
        raise InvalidParameterValue(f"Registered model alias {alias} not found on model {name}.") from None
    return {"model_version": version.to_dict()}


# ---------------------------------------------------------------- model versions
@_handler
def create_model_version(store: Any, req: ApiRequest) -> dict[str, Any]:
    version = store.create_model_version(
        _name(req),
        req.get_str("source", required=True),
        req.run_id(required=False) or None,
        _tags(req, ModelVersionTag),
        req.get_str("run_link") or None,
        req.get_str("description"),
        model_id=req.get_str("model_id") or None,
    )
    return {"model_version": version.to_dict()}


@_handler
def update_model_version(store: Any, req: ApiRequest) -> dict[str, Any]:
    version = store.update_model_version(_name(req), _version(req), req.get_str("description"))
    return {"model_version": version.to_dict()}


@_handler
def transition_model_version_stage(store: Any, req: ApiRequest) -> dict[str, Any]:
    version = store.transition_model_version_stage(
        _name(req),
        _version(req),
        req.get_str("stage", required=True),
        bool(req.get_bool("archive_existing_versions", default=False)),
        comment=req.get_str("comment"),
    )
    return {"model_version": version.to_dict()}


@_handler
def delete_model_version(store: Any, req: ApiRequest) -> dict[str, Any]:
    store.delete_model_version(_name(req), _version(req))
    return {}


@_handler
def get_model_version(store: Any, req: ApiRequest) -> dict[str, Any]:
    return {"model_version": store.get_model_version(_name(req), _version(req)).to_dict()}


@_handler
def search_model_versions(store: Any, req: ApiRequest) -> dict[str, Any]:
    page = store.search_model_versions(
        req.get_str("filter"), req.get_int("max_results"), req.get_str_list("order_by"), req.get_str("page_token")
    )
    return _page(page, "model_versions", page.token)


@_handler
def get_model_version_download_uri(store: Any, req: ApiRequest) -> dict[str, Any]:
    return {"artifact_uri": store.get_model_version_download_uri(_name(req), _version(req))}


@_handler
def set_model_version_tag(store: Any, req: ApiRequest) -> dict[str, Any]:
    store.set_model_version_tag(
        _name(req), _version(req), ModelVersionTag(req.get_str("key", required=True), req.get_str("value") or "")
    )
    return {}


@_handler
def delete_model_version_tag(store: Any, req: ApiRequest) -> dict[str, Any]:
    store.delete_model_version_tag(_name(req), _version(req), req.get_str("key", required=True))
    return {}


# ---------------------------------------------------------------- promotion history (labkeep)
@_handler
def get_promotion_history(store: Any, req: ApiRequest) -> dict[str, Any]:
    events = store.get_promotion_history(_name(req), req.get_str("version") or None)
    return {"events": [e.to_dict() for e in events]}
