"""Registered scorers (``/api/3.0/mlflow/scorers/*``): register, list, list versions, get and delete."""

from __future__ import annotations

from typing import Any

from labkeep.server.api.common import ApiContext, ApiRequest, missing_value, side_store


def scorer_store(ctx: ApiContext) -> Any:
    def build(db: Any) -> Any:
        from labkeep.stores.sql.scorers import SqlScorerStore

        return SqlScorerStore(db)

    return side_store(ctx, "scorer_store", build, "scorers")


def register_scorer(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    s = scorer_store(ctx).register_scorer(
        req.get_str("experiment_id", required=True),
        req.get_str("name", required=True),
        req.get_str("serialized_scorer", required=True),
    )
    return {
        "version": s["scorer_version"],
        "scorer_id": s["scorer_id"],
        "experiment_id": str(s["experiment_id"]),
        "name": s["scorer_name"],
        "serialized_scorer": s["serialized_scorer"],
        "creation_time": s["creation_time"],
    }


def list_scorers(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ids = req.get_str_list("experiment_ids")
    one = req.get_str("experiment_id")
    if one:
        ids = [one, *ids]
    if not ids:
        raise missing_value("experiment_id")
    return {"scorers": scorer_store(ctx).list_scorers(ids)}


def list_scorer_versions(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    versions = scorer_store(ctx).list_scorer_versions(
        req.get_str("experiment_id", required=True), req.get_str("name", required=True)
    )
    return {"scorers": versions}


def get_scorer(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    scorer = scorer_store(ctx).get_scorer(
        req.get_str("experiment_id", required=True),
        req.get_str("name", required=True),
        req.get_int("version"),
    )
    return {"scorer": scorer}


def delete_scorer(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    scorer_store(ctx).delete_scorer(
        req.get_str("experiment_id", required=True),
        req.get_str("name", required=True),
        req.get_int("version"),
    )
    return {}
