"""LLM tracing endpoints (rest-api.md §9): what ``@mlflow.trace`` and the trace APIs call.

The trace info arrives with ``POST /api/3.0/mlflow/traces`` and spans either as OTLP protobuf on
``POST /v1/traces`` (stored in the database) or as a ``traces.json`` artifact through the artifact
proxy. Reads serve spans from the database, falling back to the ``traces.json`` artifact.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.genai.tracing.entities import (
    ARTIFACT_LOCATION_TAG,
    INFO_FINALIZED_METADATA,
    Assessment,
    Trace,
    TraceInfo,
)
from labkeep.server.api.common import ApiContext, ApiRequest, side_store

OTLP_BODY_LIMIT = 64 * 1024 * 1024


def trace_store(ctx: ApiContext) -> Any:
    """The server's trace store, built once on the tracking store's database."""
    from labkeep.stores.sql.traces import SqlTraceStore

    return side_store(ctx, "trace_store", SqlTraceStore, "traces")


def _trace_json(ctx: ApiContext, trace: Trace) -> dict[str, Any]:
    from labkeep.genai.tracing.otlp import span_to_otlp_json

    spans = trace.spans or _artifact_spans(ctx, trace.info)
    return {"trace_info": trace.info.to_dict(), "spans": [span_to_otlp_json(s) for s in spans]}


def _artifact_spans(ctx: ApiContext, info: TraceInfo) -> list[dict[str, Any]]:
    """Spans from the trace's ``traces.json`` artifact (clients that did not send OTLP)."""
    if not info.tags.get(ARTIFACT_LOCATION_TAG):
        return []
    try:
        # Never the tag's own value (a client could aim it anywhere): the place start_trace chose,
        # below the trace's experiment.
        experiment = ctx.tracking_store.get_experiment(info.experiment_id)
        location = f"{experiment.artifact_location.rstrip('/')}/traces/{info.trace_id}/artifacts"
        from labkeep.server.api.artifacts import resolve_uri

        store, prefix = resolve_uri(ctx, location)
        rel = "/".join(p for p in (prefix, "traces.json") if p)
        if store.kind(rel) != "file":
            return []
        data = b"".join(store.iter_bytes(rel))
        spans = json.loads(data).get("spans") or []
        return [s for s in spans if isinstance(s, dict)]
    except Exception:
        return []


# ---------------------------------------------------------------- writes
def start_trace(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    body = req.raw("trace")
    if not isinstance(body, dict) or not isinstance(body.get("trace_info"), dict):
        raise InvalidParameterValue("Missing value for required parameter 'trace.trace_info'.")
    raw_info = body["trace_info"]
    info = TraceInfo.from_dict(raw_info)
    if not info.trace_id:
        raise InvalidParameterValue("Missing value for required parameter 'trace.trace_info.trace_id'.")
    if "request_time" not in raw_info:
        raise InvalidParameterValue("Missing value for required parameter 'trace.trace_info.request_time'.")
    experiment = ctx.tracking_store.get_experiment(info.experiment_id)
    info.tags[ARTIFACT_LOCATION_TAG] = (
        f"{experiment.artifact_location.rstrip('/')}/traces/{info.trace_id}/artifacts"
    )
    info.trace_metadata[INFO_FINALIZED_METADATA] = "true"
    stored = trace_store(ctx).start_trace(info)
    return {"trace": {"trace_info": stored.to_dict()}}


async def otlp_traces(ctx: ApiContext, request: Request, params: dict[str, str]) -> Response:
    """``POST /v1/traces``: OTLP/protobuf spans for the experiment in ``x-mlflow-experiment-id``."""
    import anyio.to_thread

    from labkeep.genai.tracing.otlp import otlp_available, spans_from_otlp
    from labkeep.server.api.dispatch import error_response, read_body

    try:
        experiment_id = request.headers.get("x-mlflow-experiment-id")
        if not experiment_id:
            raise InvalidParameterValue("Missing header 'x-mlflow-experiment-id' naming the experiment.")
        if not otlp_available():
            raise LabkeepException(
                "REST OTLP span logging is not supported by this server (install opentelemetry-proto).",
                error_code="NOT_IMPLEMENTED",
            )
        ctype = request.headers.get("content-type", "")
        if "protobuf" not in ctype:
            raise InvalidParameterValue(f"Content-Type must be application/x-protobuf, got {ctype!r}.")
        body = await read_body(request.receive, OTLP_BODY_LIMIT)
        try:
            pairs = spans_from_otlp(body)
        except Exception:
            raise InvalidParameterValue("The request body is not a valid OTLP ExportTraceServiceRequest.")
        ctx.tracking_store.get_experiment(experiment_id)
        store = trace_store(ctx)
        await anyio.to_thread.run_sync(store.log_spans, [s for _, s in pairs], [t for t, _ in pairs])
    except LabkeepException as exc:
        return error_response(exc)
    return Response(b"", media_type="application/x-protobuf")


def set_trace_tag(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    key = req.get_str("key", required=True)
    if key == ARTIFACT_LOCATION_TAG:
        raise InvalidParameterValue(f"Tag '{ARTIFACT_LOCATION_TAG}' is set by the server and cannot be changed.")
    trace_store(ctx).set_trace_tag(req.get_str("trace_id", required=True), key, req.raw("value", ""))
    return {}


def link_traces_to_run(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    trace_store(ctx).link_traces_to_run(req.get_str_list("trace_ids", required=True), req.get_str("run_id", required=True))
    return {}


def delete_trace_tag(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    trace_store(ctx).delete_trace_tag(req.get_str("trace_id", required=True), req.get_str("key", required=True))
    return {}


def delete_traces(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ids = req.get_str_list("request_ids") or None
    count = trace_store(ctx).delete_traces(
        req.get_str("experiment_id", required=True),
        req.get_int("max_timestamp_millis"),
        req.get_int("max_traces"),
        ids,
    )
    return {"traces_deleted": count}


def create_assessment(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    raw = req.raw("assessment")
    if not isinstance(raw, dict):
        raise InvalidParameterValue("Missing value for required parameter 'assessment'.")
    a = Assessment.from_dict(raw)
    a.trace_id = req.get_str("trace_id", required=True) or a.trace_id
    a.assessment_id = None
    return {"assessment": trace_store(ctx).create_assessment(a).to_dict()}


def get_assessment(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    a = trace_store(ctx).get_assessment(
        req.get_str("trace_id", required=True), req.get_str("assessment_id", required=True)
    )
    return {"assessment": a.to_dict()}


def update_assessment(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    raw = req.raw("assessment")
    if not isinstance(raw, dict):
        raise InvalidParameterValue("Missing value for required parameter 'assessment'.")
    parsed = Assessment.from_dict({"assessment_name": "x", **raw})
    changes = {
        "value": parsed.value,
        "rationale": parsed.rationale,
        "metadata": parsed.metadata or None,
        "valid": parsed.valid,
        "name": raw.get("assessment_name"),
    }
    a = trace_store(ctx).update_assessment(
        req.get_str("trace_id", required=True), req.get_str("assessment_id", required=True), changes
    )
    return {"assessment": a.to_dict()}


def delete_assessment(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    trace_store(ctx).delete_assessment(
        req.get_str("trace_id", required=True), req.get_str("assessment_id", required=True)
    )
    return {}


# ---------------------------------------------------------------- reads
def get_trace_info(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    info = trace_store(ctx).get_trace_info(req.get_str("trace_id", required=True))
    return {"trace": {"trace_info": info.to_dict()}}


def get_trace(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    trace = trace_store(ctx).get_trace(req.get_str("trace_id", required=True))
    return {"trace": _trace_json(ctx, trace)}


def batch_get_traces(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    ids = req.get_str_list("trace_ids", required=True)
    traces = trace_store(ctx).batch_get_traces(ids)
    return {"traces": [_trace_json(ctx, t) for t in traces]}


def search_traces(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    exp_ids: list[str] = []
    for loc in req.get_list("locations"):
        if isinstance(loc, dict):
            exp = (loc.get("mlflow_experiment") or {}).get("experiment_id")
            if exp is not None:
                exp_ids.append(str(exp))
        elif isinstance(loc, str):
            exp_ids.append(loc)
    exp_ids += req.get_str_list("experiment_ids")
    if not exp_ids:
        raise InvalidParameterValue("search traces needs 'locations' (or 'experiment_ids').")
    infos, token = trace_store(ctx).search_traces(
        exp_ids,
        req.get_str("filter"),
        req.get_int("max_results", default=100),
        req.get_str_list("order_by"),
        req.get_str("page_token"),
    )
    out: dict[str, Any] = {"traces": [i.to_dict() for i in infos]}
    if token:
        out["next_page_token"] = token
    return out
