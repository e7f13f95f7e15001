"""Evaluation datasets over REST (``/api/3.0/mlflow/datasets/*``), as mlflow 3's client calls them.

Tags and records travel as JSON-encoded strings inside the JSON body, as in mlflow's protocol.
"""

from __future__ import annotations

import json
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.server.api.common import ApiContext, ApiRequest, invalid_value, side_store


def dataset_store(ctx: ApiContext) -> Any:
    def build(db: Any) -> Any:
        from labkeep.stores.sql.eval_datasets import SqlEvalDatasetStore

        return SqlEvalDatasetStore(db)

    return side_store(ctx, "eval_dataset_store", build, "evaluation datasets")


def _json_field(req: ApiRequest, name: str, kind: type) -> Any:
    raw = req.raw(name)
    if raw is None or raw == "":
        return None
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            raise invalid_value(name, raw, "It must be a JSON-encoded value.")
    if not isinstance(value, kind):
        raise invalid_value(name, raw, f"It must encode a JSON {'object' if kind is dict else 'list'}.")
    return value


def _wire(ds: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in ds.items() if k != "tags"}
    out["tags"] = json.dumps(ds.get("tags") or {})
    return out


def _dataset_id(req: ApiRequest) -> str:
    return req.get_str("dataset_id", required=True)


def create_dataset(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ds = dataset_store(ctx).create_dataset(
        req.get_str("name", required=True), _json_field(req, "tags", dict), req.get_str_list("experiment_ids")
    )
    return {"dataset": _wire(ds)}


def get_dataset(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    return {"dataset": _wire(dataset_store(ctx).get_dataset(_dataset_id(req)))}


def delete_dataset(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    dataset_store(ctx).delete_dataset(_dataset_id(req))
    return {}


def search_datasets(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    found, token = dataset_store(ctx).search_datasets(
        req.get_str_list("experiment_ids"),
        req.get_str("filter_string"),
        req.get_int("max_results", default=1000),
        req.get_str_list("order_by"),
        req.get_str("page_token"),
    )
    out: dict[str, Any] = {"datasets": [_wire(d) for d in found]}
    if token:
        out["next_page_token"] = token
    return out


def set_dataset_tags(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    tags = _json_field(req, "tags", dict)
    if tags is None:
        raise InvalidParameterValue("Missing value for required parameter 'tags'.")
    dataset_store(ctx).set_tags(_dataset_id(req), tags)
    return {}


def delete_dataset_tag(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    dataset_store(ctx).delete_tag(_dataset_id(req), req.get_str("key", required=True))
    return {}


def get_dataset_experiment_ids(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    return {"experiment_ids": dataset_store(ctx).get_dataset(_dataset_id(req))["experiment_ids"]}


def add_dataset_to_experiments(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ds = dataset_store(ctx).add_experiments(_dataset_id(req), req.get_str_list("experiment_ids", required=True))
    return {"dataset": _wire(ds)}


def remove_dataset_from_experiments(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ds = dataset_store(ctx).remove_experiments(
        _dataset_id(req), req.get_str_list("experiment_ids", required=True)
    )
    return {"dataset": _wire(ds)}


def upsert_dataset_records(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    records = _json_field(req, "records", list)
    if records is None:
        raise InvalidParameterValue("Missing value for required parameter 'records'.")
    counts = dataset_store(ctx).upsert_records(_dataset_id(req), records)
    return {"inserted_count": counts["inserted"], "updated_count": counts["updated"]}


def get_dataset_records(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    max_results = req.get_int("max_results", default=1000)
    if max_results is None or not 1 <= max_results <= 1000:
        raise invalid_value("max_results", max_results, "It must be between 1 and 1000.")
    records, token = dataset_store(ctx).get_records(_dataset_id(req), max_results, req.get_str("page_token"))
    out: dict[str, Any] = {"records": json.dumps(records)}
    if token:
        out["next_page_token"] = token
    return out


def delete_dataset_records(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    deleted = dataset_store(ctx).delete_records(
        _dataset_id(req), req.get_str_list("dataset_record_ids", required=True)
    )
    return {"deleted_count": deleted}
