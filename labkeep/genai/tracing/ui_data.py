"""Data for trace pages (the web UI's traces list and trace view), independent of templates.

``trace_rows`` gives one row per trace (name, status, duration, tokens, cost, run); ``span_tree``
gives the spans depth-first with their timeline position. Values are plain Python; templates
must escape them (they come from user code).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from labkeep.genai.tracing.span import SPAN_INPUTS, SPAN_OUTPUTS, SPAN_TYPE, TRACE_REQUEST_ID, SpanView

if TYPE_CHECKING:
    from labkeep.stores.base import TraceStore

_HIDDEN_ATTRS = {SPAN_INPUTS, SPAN_OUTPUTS, SPAN_TYPE, TRACE_REQUEST_ID, "mlflow.spanFunctionName"}


def json_number(raw: str | None, key: str) -> float | None:
    """``key`` of a JSON object kept as text (token usage, cost), when it is a number."""
    if not raw:
        return None
    try:
        value = json.loads(raw).get(key)
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def trace_row(info: Any) -> dict[str, Any]:
    tokens = json_number(info.trace_metadata.get("mlflow.trace.tokenUsage"), "total_tokens")
    return {
        "trace_id": info.trace_id,
        "name": info.name,
        "state": info.state,
        "request_time": info.request_time,
        "duration_ms": info.execution_duration,
        "tokens": None if tokens is None else int(tokens),
        "cost": json_number(info.trace_metadata.get("mlflow.trace.cost"), "total_cost"),
        "run_id": info.run_id,
        "request_preview": info.request_preview,
        "response_preview": info.response_preview,
        "tags": {k: v for k, v in info.tags.items() if not k.startswith("mlflow.")},
        "assessments": [
            {"name": a.name, "value": a.value, "rationale": a.rationale, "source": a.source_type}
            for a in info.assessments
        ],
    }


def trace_rows(
    trace_store: TraceStore,
    experiment_id: str,
    filter_string: str | None = None,
    max_results: int = 100,
    page_token: str | None = None,
    order_by: list[str] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of an experiment's traces as table rows (newest first by default)."""
    infos, token = trace_store.search_traces(
        [experiment_id], filter_string, max_results, order_by, page_token
    )
    return [trace_row(i) for i in infos], token


def span_tree(trace: Any) -> list[dict[str, Any]]:
    """Spans depth-first (children by start time) with depth and timeline offsets in % of the trace."""
    views = [SpanView(s) for s in trace.spans]
    if not views:
        return []
    by_parent: dict[str | None, list[SpanView]] = {}
    ids = {v.span_id for v in views}
    for v in views:
        parent = v.parent_id if v.parent_id in ids else None
        by_parent.setdefault(parent, []).append(v)
    for children in by_parent.values():
        children.sort(key=lambda v: (v.start_time_ns or 0, v.span_id or ""))
    start = min(v.start_time_ns or 0 for v in views)
    end = max((v.end_time_ns or v.start_time_ns or 0) for v in views)
    total = max(end - start, 1)
    out: list[dict[str, Any]] = []

    def visit(v: SpanView, depth: int) -> None:
        s = (v.start_time_ns or start) - start
        e = (v.end_time_ns or end) - start
        out.append(
            {
                "span_id": v.span_id,
                "parent_id": v.parent_id,
                "depth": depth,
                "name": v.name,
                "span_type": v.span_type,
                "status": v.status,
                "status_message": v.status_message,
                "start_offset_ms": s / 1e6,
                "duration_ms": (e - s) / 1e6,
                "offset_pct": round(100.0 * s / total, 3),
                "width_pct": round(max(100.0 * (e - s) / total, 0.2), 3),
                "inputs": v.inputs,
                "outputs": v.outputs,
                "attributes": {k: val for k, val in v.attributes.items() if k not in _HIDDEN_ATTRS},
                "events": v.events,
            }
        )
        for child in by_parent.get(v.span_id, []):
            visit(child, depth + 1)

    for root in by_parent.get(None, []):
        visit(root, 0)
    return out
