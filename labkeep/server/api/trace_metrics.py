"""Trace analytics: ``traces/metrics`` (counts, latency, tokens by dimension) and
``traces/calculate-filter-correlation`` (how two trace filters co-occur)."""

from __future__ import annotations

from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.search.paging import make_page_token, parse_page_token
from labkeep.server.api.common import ApiContext, ApiRequest, missing_value
from labkeep.stores.lookup import require_sql

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
    points = query_trace_metrics(
        require_sql(ctx.tracking_store, "hold traces").db,
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


def _matching_ids(store: Any, experiment_ids: list[str], filter_string: str | None) -> set[str]:
    from labkeep.stores.sql.traces import SEARCH_TRACES_MAX_RESULTS

    ids: set[str] = set()
    token = None
    while True:
        infos, token = store.search_traces(
            experiment_ids, filter_string, SEARCH_TRACES_MAX_RESULTS, None, token
        )
        ids.update(i.trace_id for i in infos)
        if not token:
            return ids


def _and(base: str | None, extra: str) -> str:
    return f"{base} AND {extra}" if base else extra


def calculate_trace_filter_correlation(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Counts of traces matching two filters (and both), and their NPMI, within ``base_filter``."""
    import math

    from labkeep.genai.tracing.correlation import npmi_from_counts
    from labkeep.server.api.traces import trace_store

    experiment_ids = req.get_str_list("experiment_ids", required=True)
    if not experiment_ids:
        raise missing_value("experiment_ids")
    first = req.get_str("filter_string1", required=True)
    second = req.get_str("filter_string2", required=True)
    base = req.get_str("base_filter") or None
    store = trace_store(ctx)
    total = _matching_ids(store, experiment_ids, base)
    ones = _matching_ids(store, experiment_ids, _and(base, first))
    twos = _matching_ids(store, experiment_ids, _and(base, second))
    joint = len(ones & twos)
    npmi, smoothed = npmi_from_counts(len(total), len(ones), len(twos), joint)
    out: dict[str, Any] = {
        "filter1_count": len(ones),
        "filter2_count": len(twos),
        "joint_count": joint,
        "total_count": len(total),
    }
    # NaN (a filter matching nothing) is left out, as protobuf's JSON leaves an unset field
    if not math.isnan(npmi):
        out["npmi"] = npmi
    if not math.isnan(smoothed):
        out["npmi_smoothed"] = smoothed
    return out
