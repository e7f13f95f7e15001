"""The legacy (v2) trace routes older mlflow clients still call: start, end and read one trace's info.

``POST /api/2.0/mlflow/traces`` opens a trace (IN_PROGRESS, no duration), ``PATCH
/api/2.0/mlflow/traces/{request_id}`` closes it (status, duration from its start, metadata and tags
merged in) and ``GET /api/2.0/mlflow/traces/{request_id}/info`` reads it; ``get-trace-artifact``
downloads its spans as ``traces.json``. They share the v3 trace tables; answers use the v2 shape
(``request_id``, ``timestamp_ms``, key/value lists).
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response

from labkeep.exceptions import InvalidParameterValue
from labkeep.genai.tracing.entities import ARTIFACT_LOCATION_TAG, TraceInfo
from labkeep.server.api.common import ApiContext, ApiRequest, missing_value
from labkeep.server.api.traces import trace_store

STATUSES = ("OK", "ERROR", "IN_PROGRESS", "TRACE_STATUS_UNSPECIFIED")


def _pairs(req: ApiRequest, name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, item in enumerate(req.get_dicts(name)):
        key = item.get("key")
        if not isinstance(key, str) or not key:
            raise missing_value(f"{name}[{i}].key")
        value = item.get("value")
        out[key] = "" if value is None else str(value)
    return out


def v2_info(info: TraceInfo) -> dict[str, Any]:
    """A trace info in the v2 wire shape."""
    status = info.state if info.state in STATUSES else "TRACE_STATUS_UNSPECIFIED"
    out: dict[str, Any] = {
        "request_id": info.trace_id,
        "experiment_id": info.experiment_id,
        "timestamp_ms": info.request_time,
        "execution_time_ms": info.execution_duration or 0,
        "status": status,
        "request_metadata": [{"key": k, "value": v} for k, v in info.trace_metadata.items()],
        "tags": [{"key": k, "value": v} for k, v in info.tags.items()],
    }
    return out


def start_trace_v2(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    experiment_id = req.get_str("experiment_id", required=True)
    timestamp = req.get_int("timestamp_ms", required=True)
    experiment = ctx.tracking_store.get_experiment(experiment_id)
    trace_id = uuid.uuid4().hex
    tags = _pairs(req, "tags")
    tags[ARTIFACT_LOCATION_TAG] = f"{experiment.artifact_location.rstrip('/')}/traces/{trace_id}/artifacts"
    info = TraceInfo(
        trace_id=trace_id,
        experiment_id=experiment_id,
        request_time=int(timestamp or 0),
        execution_duration=None,
        state="IN_PROGRESS",
        trace_metadata=_pairs(req, "request_metadata"),
        tags=tags,
    )
    return {"trace_info": v2_info(trace_store(ctx).start_trace(info))}


def end_trace_v2(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    trace_id = req.get_str("request_id", required=True)
    timestamp = req.get_int("timestamp_ms", required=True)
    status = req.get_str("status", required=True)
    if status not in STATUSES:
        raise InvalidParameterValue(f"Invalid trace status {status!r}; use one of {', '.join(STATUSES)}.")
    store = trace_store(ctx)
    info = store.get_trace_info(trace_id)
    tags = _pairs(req, "tags")
    if ARTIFACT_LOCATION_TAG in tags:
        raise InvalidParameterValue(
            f"Tag '{ARTIFACT_LOCATION_TAG}' is set by the server and cannot be changed."
        )
    info.execution_duration = max(0, int(timestamp or 0) - info.request_time)
    info.state = status
    info.trace_metadata.update(_pairs(req, "request_metadata"))
    info.tags.update(tags)
    info.assessments = []  # already stored; the info write must not copy them again
    return {"trace_info": v2_info(store.start_trace(info))}


def get_trace_info_v2(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    return {"trace_info": v2_info(trace_store(ctx).get_trace_info(req.get_str("request_id", required=True)))}


def _download_span(span: dict[str, Any]) -> dict[str, Any]:
    """A stored span in the ``traces.json`` shape of mlflow 3 (``time_unix_nano``, plain event values)."""
    from labkeep.genai.tracing.span import decode_value

    events = [
        {
            "name": ev.get("name", ""),
            "time_unix_nano": ev.get("time_unix_nano", ev.get("timestamp")),
            "attributes": {k: decode_value(v) for k, v in (ev.get("attributes") or {}).items()},
        }
        for ev in span.get("events") or []
    ]
    return {**span, "events": events}


def get_trace_artifact(ctx: ApiContext, req: ApiRequest) -> Response:
    """``get-trace-artifact``: a trace's spans as the ``traces.json`` document clients download."""
    from labkeep.server.api.dispatch import json_bytes
    from labkeep.server.api.traces import _artifact_spans

    trace = trace_store(ctx).get_trace(req.get_str("request_id", required=True))
    if trace.spans:  # stored from OTLP: event attribute values are kept JSON-encoded
        spans = [_download_span(s) for s in trace.spans]
    else:  # the client's own traces.json, already in its shape
        spans = _artifact_spans(ctx, trace.info)
    return Response(
        json_bytes({"spans": spans}),
        media_type="application/json",
        headers={"Content-Disposition": "attachment; filename=traces.json"},
    )
