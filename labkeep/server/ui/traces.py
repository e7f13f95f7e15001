"""Trace pages: an experiment's traces (filterable, paged) and one trace's span tree with a timeline.

Data comes from ``labkeep.genai.tracing.ui_data``; every value is escaped by the templates.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labkeep.exceptions import LabkeepException
from labkeep.genai.tracing.entities import Trace
from labkeep.genai.tracing.ui_data import span_tree, trace_row, trace_rows
from labkeep.server.ui.common import Ui, strip_json
from labkeep.server.ui.experiments import tabs

PAGE_SIZE = 100


def traces_page(ui: Ui, request: Request, experiment_id: str) -> Response:
    from labkeep.server.api.traces import trace_store

    experiment = ui.store.get_experiment(experiment_id)
    q = request.query_params.get("filter", "").strip()
    token = request.query_params.get("page_token") or None
    error = None
    try:
        rows, next_token = trace_rows(
            trace_store(ui.ctx), experiment.experiment_id, q or None, PAGE_SIZE, token
        )
    except LabkeepException as exc:  # a bad filter is shown on the page, not as an error page
        if exc.error_code != "INVALID_PARAMETER_VALUE":
            raise
        rows, next_token, error = [], None, exc.message
    data = {
        "experiment": {"experiment_id": experiment.experiment_id, "name": experiment.name},
        "traces": rows,
        "filter": q,
        "filter_error": error,
        "next_page_token": next_token,
        "tabs": tabs(ui, experiment, "traces"),
    }
    return ui.page(request, "traces.html", data)


def attr_display(value: Any) -> dict[str, Any]:
    """An attribute value as the page shows it. Span and event attributes are stored JSON-encoded
    (a string arrives as ``"\"ValueError\""``): decode once, show strings as they are (a stack
    trace keeps its lines) and anything else as indented JSON."""
    decoded = value
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = value
    if isinstance(decoded, str):
        text = decoded
    else:
        text = json.dumps(decoded, indent=2 if isinstance(decoded, dict | list) else None, ensure_ascii=False)
    return {"text": text, "block": "\n" in text or len(text) > 120}


def _readable(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for s in spans:
        s["attributes_shown"] = [(k, attr_display(v)) for k, v in (s.get("attributes") or {}).items()]
        s["events_shown"] = [
            {
                "name": e.get("name", ""),
                "timestamp": e.get("timestamp"),
                "attributes": [(k, attr_display(v)) for k, v in (e.get("attributes") or {}).items()],
            }
            for e in (s.get("events") or [])
        ]
    return spans


def trace_page(ui: Ui, request: Request, trace_id: str) -> Response:
    from labkeep.server.api.traces import _artifact_spans, trace_store

    trace_id = strip_json(request, trace_id)
    trace = trace_store(ui.ctx).get_trace(trace_id)
    if not trace.spans:
        trace = Trace(trace.info, _artifact_spans(ui.ctx, trace.info))
    experiment = ui.store.get_experiment(trace.info.experiment_id)
    data = {
        "experiment": {"experiment_id": experiment.experiment_id, "name": experiment.name},
        "trace": trace_row(trace.info),
        "metadata": trace.info.trace_metadata,
        "all_tags": trace.info.tags,
        "spans": _readable(span_tree(trace)),
    }
    return ui.page(request, "trace.html", data)
