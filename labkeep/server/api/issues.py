"""The issues API (``/api/3.0/mlflow/issues``): create, get, update and search issues."""

from __future__ import annotations

from typing import Any

from labkeep.server.api.common import ApiContext, ApiRequest, missing_value, side_store

_FIELDS = ("name", "description", "status", "severity", "source_run_id", "created_by")


def issue_store(ctx: ApiContext) -> Any:
    def build(db: Any) -> Any:
        from labkeep.stores.sql.issues import SqlIssueStore

        return SqlIssueStore(db)

    return side_store(ctx, "issue_store", build, "issues")


def _fields(req: ApiRequest) -> dict[str, Any]:
    out: dict[str, Any] = {f: req.get_str(f) for f in _FIELDS}
    for f in ("root_causes", "categories"):
        if req.has(f):
            out[f] = req.get_str_list(f)
    return out


def create_issue(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    experiment_id = req.get_str("experiment_id", required=True)
    if not req.get_str("name"):
        raise missing_value("name")
    return {"issue": issue_store(ctx).create_issue(experiment_id, _fields(req))}


def get_issue(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    return {"issue": issue_store(ctx).get_issue(req.get_str("issue_id", required=True))}


def update_issue(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    return {"issue": issue_store(ctx).update_issue(req.get_str("issue_id", required=True), _fields(req))}


def search_issues(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    issues, token = issue_store(ctx).search_issues(
        experiment_id=req.get_str("experiment_id"),
        filter_string=req.get_str("filter_string"),
        max_results=req.get_int("max_results", default=100),
        page_token=req.get_str("page_token"),
    )
    # mlflow always sends next_page_token ("" on the last page); clients test for it
    return {"issues": issues, "next_page_token": token or ""}
