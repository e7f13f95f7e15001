"""``POST /api/3.0/mlflow/traces/metrics``: aggregated trace metrics (counts, latency, tokens) by dimension."""

from __future__ import annotations

from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.search.paging import make_page_token, parse_page_token
from labkeep.server.api.common import ApiContext, ApiRequest, missing_value

MAX_RESULTS = 1000


def query_trace_metrics(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    from labkeep.stores.sql.trace_metrics import parse_aggregation, query_trace_metrics

    experiment_ids = req.get_str_list("experiment_ids", required=True)
    if not experiment_ids:
        raise missing_value("experiment_ids")
    view_type = req.get_str("view_type", required=True)
    metric_name = req.get_str("metric_name", required=True)
    aggregations = [parse_aggregation(a) for a in req.get_list("aggregations", required=True)]
    if req.get_str_list("filters"):
        raise InvalidParameterValue("Trace metric filters are not supported by this server yet.")
    max_results = req.get_int("max_results", default=MAX_RESULTS) or MAX_RESULTS
    if not 1 <= max_results <= MAX_RESULTS:
        raise InvalidParameterValue(f"max_results must be between 1 and {MAX_RESULTS}, got {max_results}.")
    db = getattr(ctx.tracking_store, "db", None)
    if db is None:
        raise InvalidParameterValue("This server's tracking store cannot hold traces.")
    points = query_trace_metrics(
        db,
        experiment_ids,
        view_type,
        metric_name,
        aggregations,
        dimensions=req.get_str_list("dimensions"),
        time_interval_seconds=req.get_int("time_interval_seconds"),
        start_time_ms=req.get_int("start_time_ms"),
        end_time_ms=req.get_int("end_time_ms"),
    )
    offset = parse_page_token(req.get_str("page_token"))
    out: dict[str, Any] = {"data_points": points[offset : offset + max_results]}
    if offset + max_results < len(points):
        out["next_page_token"] = make_page_token(offset + max_results)
    return out
