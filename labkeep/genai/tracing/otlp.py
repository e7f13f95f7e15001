"""Span conversions: OTLP protobuf (``POST /v1/traces``) -> stored span dicts -> OTLP JSON (get APIs).

Stored spans keep MLflow's ``traces.json`` shape (attribute values JSON-encoded). OTLP carries
typed ``AnyValue``s; a value is decoded to Python and JSON-encoded on the way in, and decoded and
re-typed on the way out. Parsing protobuf needs ``opentelemetry-proto`` (installed with mlflow or
``labkeep[llm]``); without it ``POST /v1/traces`` answers 501 and the mlflow client falls back to the
``traces.json`` artifact upload.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from labkeep.genai.tracing.span import TRACE_REQUEST_ID, decode_value

_STATUS_NAMES = {0: "STATUS_CODE_UNSET", 1: "STATUS_CODE_OK", 2: "STATUS_CODE_ERROR"}


def otlp_available() -> bool:
    """OTLP ingestion is possible (``opentelemetry-proto`` importable) and not switched off
    with ``LABKEEP_DISABLE_OTLP_INGEST=true``."""
    from labkeep import config

    if config.DISABLE_OTLP_INGEST.flag():
        return False
    try:
        import opentelemetry.proto.collector.trace.v1.trace_service_pb2  # noqa: F401
    except ImportError:
        return False
    return True


def _anyvalue_to_py(av: Any) -> Any:
    kind = av.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_anyvalue_to_py(v) for v in av.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _anyvalue_to_py(kv.value) for kv in av.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(av.bytes_value).decode()
    return getattr(av, kind)


def spans_from_otlp(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    """Decode an ExportTraceServiceRequest into ``(tr-… trace id, span dict)`` pairs."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    req = ExportTraceServiceRequest()
    req.ParseFromString(body)
    out = []
    for rs in req.resource_spans:
        for ss in rs.scope_spans:
            for sp in ss.spans:
                attrs = {
                    kv.key: json.dumps(_anyvalue_to_py(kv.value), ensure_ascii=False) for kv in sp.attributes
                }
                request_id = decode_value(attrs.get(TRACE_REQUEST_ID))
                if not isinstance(request_id, str) or not request_id:
                    request_id = "tr-" + sp.trace_id.hex()
                    attrs[TRACE_REQUEST_ID] = json.dumps(request_id)
                span = {
                    "trace_id": base64.b64encode(sp.trace_id).decode(),
                    "span_id": base64.b64encode(sp.span_id).decode(),
                    "parent_span_id": base64.b64encode(sp.parent_span_id).decode()
                    if sp.parent_span_id
                    else None,
                    "name": sp.name,
                    "start_time_unix_nano": int(sp.start_time_unix_nano),
                    "end_time_unix_nano": int(sp.end_time_unix_nano) if sp.end_time_unix_nano else None,
                    "events": [
                        {
                            "name": ev.name,
                            "timestamp": int(ev.time_unix_nano),
                            "attributes": {
                                kv.key: json.dumps(_anyvalue_to_py(kv.value), ensure_ascii=False)
                                for kv in ev.attributes
                            },
                        }
                        for ev in sp.events
                    ],
                    "status": {
                        "code": _STATUS_NAMES.get(int(sp.status.code), "STATUS_CODE_UNSET"),
                        "message": sp.status.message,
                    },
                    "attributes": attrs,
                    "links": [],
                }
                out.append((request_id, span))
    return out


def py_to_anyvalue(value: Any) -> dict[str, Any]:
    """A Python value as OTLP JSON ``AnyValue`` (proto field names, as mlflow's client parses them)."""
    if isinstance(value, bool):
        return {"bool_value": value}
    if isinstance(value, int):
        return {"int_value": value}
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {"string_value": str(value)}
        return {"double_value": value}
    if isinstance(value, str):
        return {"string_value": value}
    if isinstance(value, list | tuple):
        return {"array_value": {"values": [py_to_anyvalue(v) for v in value]}}
    if isinstance(value, dict):
        return {
            "kvlist_value": {
                "values": [{"key": str(k), "value": py_to_anyvalue(v)} for k, v in value.items()]
            }
        }
    if value is None:
        return {}
    return {"string_value": str(value)}


def span_to_otlp_json(span: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "trace_id": span.get("trace_id"),
        "span_id": span.get("span_id"),
        "name": span.get("name") or "",
        "start_time_unix_nano": int(span.get("start_time_unix_nano") or 0),
        "attributes": [
            {"key": k, "value": py_to_anyvalue(decode_value(v))}
            for k, v in (span.get("attributes") or {}).items()
        ],
        "status": {"code": (span.get("status") or {}).get("code") or "STATUS_CODE_UNSET"},
    }
    msg = (span.get("status") or {}).get("message")
    if msg:
        out["status"]["message"] = msg
    if span.get("parent_span_id"):
        out["parent_span_id"] = span["parent_span_id"]
    if span.get("end_time_unix_nano") is not None:
        out["end_time_unix_nano"] = int(span["end_time_unix_nano"])
    events = []
    for ev in span.get("events") or []:
        events.append(
            {
                "name": ev.get("name", ""),
                "time_unix_nano": int(ev.get("timestamp") or ev.get("time_unix_nano") or 0),
                "attributes": [
                    {"key": k, "value": py_to_anyvalue(decode_value(v))}
                    for k, v in (ev.get("attributes") or {}).items()
                ],
            }
        )
    if events:
        out["events"] = events
    return out


def span_from_otlp_json(d: dict[str, Any]) -> dict[str, Any]:
    """The inverse of ``span_to_otlp_json`` (used by the REST client reading a server's answer)."""

    def py(av: dict[str, Any]) -> Any:
        if not av:
            return None
        ((kind, val),) = av.items()
        if kind == "array_value":
            return [py(v) for v in (val or {}).get("values", [])]
        if kind == "kvlist_value":
            return {kv["key"]: py(kv.get("value") or {}) for kv in (val or {}).get("values", [])}
        if kind == "int_value":
            return int(val)
        return val

    status = d.get("status") or {}
    code = status.get("code", "STATUS_CODE_UNSET")
    if isinstance(code, int):
        code = _STATUS_NAMES.get(code, "STATUS_CODE_UNSET")
    return {
        "trace_id": d.get("trace_id"),
        "span_id": d.get("span_id"),
        "parent_span_id": d.get("parent_span_id") or None,
        "name": d.get("name", ""),
        "start_time_unix_nano": int(d.get("start_time_unix_nano") or 0),
        "end_time_unix_nano": int(d["end_time_unix_nano"]) if d.get("end_time_unix_nano") else None,
        "events": [
            {
                "name": ev.get("name", ""),
                "timestamp": int(ev.get("time_unix_nano") or 0),
                "attributes": {
                    a["key"]: json.dumps(py(a.get("value") or {})) for a in ev.get("attributes") or []
                },
            }
            for ev in d.get("events") or []
        ],
        "status": {"code": code, "message": status.get("message", "")},
        "attributes": {a["key"]: json.dumps(py(a.get("value") or {})) for a in d.get("attributes") or []},
        "links": [],
    }
