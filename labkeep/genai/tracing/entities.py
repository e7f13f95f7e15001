"""Trace entities: ``TraceInfo``, ``Trace``, ``Assessment`` in MLflow 3's JSON shapes.

Spans travel as dicts in the ``traces.json`` shape (base64 ids, attribute values JSON-encoded,
``status.code`` as an OTel enum name); ``labkeep.genai.tracing.span.SpanView`` reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

TRACE_NAME_TAG = "mlflow.traceName"
ARTIFACT_LOCATION_TAG = "mlflow.artifactLocation"
SPANS_LOCATION_TAG = "mlflow.trace.spansLocation"
SOURCE_RUN_METADATA = "mlflow.sourceRun"
# Further runs a trace was linked to (link_traces_to_run) when it already has a source run.
LINKED_RUNS_METADATA = "labkeep.linkedRuns"
INFO_FINALIZED_METADATA = "mlflow.trace.infoFinalized"
TOKEN_USAGE_METADATA = "mlflow.trace.tokenUsage"
TRACE_STATES = ("STATE_UNSPECIFIED", "OK", "ERROR", "IN_PROGRESS")


def ms_to_rfc3339(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def rfc3339_to_ms(value: Any) -> int:
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Python < 3.11 accepts at most 6 fractional digits; nanosecond stamps have 9.
    head, dot, rest = text.partition(".")
    if dot:
        frac = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(frac) :]
        text = f"{head}.{frac[:6].ljust(6, '0')}{tz}"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(round(dt.timestamp() * 1000))


def duration_to_ms(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip().rstrip("s")
    return int(round(float(text) * 1000))


def ms_to_duration(ms: int) -> str:
    return f"{ms / 1000:.3f}s"


@dataclass
class Assessment:
    """Feedback (a judgement, e.g. a score and rationale) or an expectation (ground truth)."""

    name: str
    trace_id: str
    value: Any = None
    kind: str = "feedback"  # or "expectation"
    assessment_id: str | None = None
    rationale: str | None = None
    source_type: str = "HUMAN"
    source_id: str | None = None
    create_time_ms: int = 0
    last_update_time_ms: int = 0
    span_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    run_id: str | None = None
    valid: bool | None = None
    overrides: str | None = None  # the assessment this one replaces (which becomes invalid)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "assessment_name": self.name,
            "trace_id": self.trace_id,
            "source": {"source_type": self.source_type, "source_id": self.source_id or "default"},
            "create_time": ms_to_rfc3339(self.create_time_ms),
            "last_update_time": ms_to_rfc3339(self.last_update_time_ms or self.create_time_ms),
        }
        if self.assessment_id:
            out["assessment_id"] = self.assessment_id
        body: dict[str, Any] = {}
        if self.value is not None:
            body["value"] = self.value
        if self.kind == "expectation":
            if isinstance(self.value, dict | list):  # mlflow sends structured expectations serialized
                body = {
                    "serialized_value": {
                        "serialization_format": "JSON_FORMAT",
                        "value": json.dumps(self.value),
                    }
                }
            out["expectation"] = body
        else:
            if self.error:
                body["error"] = self.error
            out["feedback"] = body
        for key, val in (
            ("rationale", self.rationale),
            ("span_id", self.span_id),
            ("run_id", self.run_id),
            ("valid", self.valid),
            ("overrides", self.overrides),
        ):
            if val is not None:
                out[key] = val
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Assessment:
        kind = "expectation" if "expectation" in d else "feedback"
        body = d.get(kind) or {}
        source = d.get("source") or {}
        value = body.get("value")
        if kind == "expectation" and value is None and "serialized_value" in body:
            raw = body["serialized_value"]
            text = raw.get("value") if isinstance(raw, dict) else None
            try:
                value = json.loads(text) if isinstance(text, (str, bytes, bytearray)) else raw
            except ValueError:
                value = raw
        create = d.get("create_time")
        return cls(
            name=str(d.get("assessment_name") or d.get("name") or ""),
            trace_id=str(d.get("trace_id") or ""),
            value=value,
            kind=kind,
            assessment_id=d.get("assessment_id"),
            rationale=d.get("rationale"),
            source_type=str(source.get("source_type") or "HUMAN"),
            source_id=source.get("source_id"),
            create_time_ms=rfc3339_to_ms(create) if create else 0,
            last_update_time_ms=rfc3339_to_ms(d["last_update_time"]) if d.get("last_update_time") else 0,
            span_id=d.get("span_id") or None,
            metadata=dict(d.get("metadata") or {}),
            error=body.get("error"),
            run_id=d.get("run_id"),
            valid=d.get("valid"),
            overrides=d.get("overrides") or None,
        )


@dataclass
class TraceInfo:
    """What is known about one trace besides its spans (MLflow's TraceInfoV3)."""

    trace_id: str
    experiment_id: str
    request_time: int  # ms since epoch
    execution_duration: int | None = None  # ms
    state: str = "OK"
    request_preview: str | None = None
    response_preview: str | None = None
    client_request_id: str | None = None
    trace_metadata: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    assessments: list[Assessment] = field(default_factory=list)

    # mlflow-compatible conveniences
    @property
    def request_id(self) -> str:
        return self.trace_id

    @property
    def status(self) -> str:
        return self.state

    @property
    def timestamp_ms(self) -> int:
        return self.request_time

    @property
    def execution_time_ms(self) -> int | None:
        return self.execution_duration

    @property
    def request_metadata(self) -> dict[str, str]:
        return self.trace_metadata

    @property
    def run_id(self) -> str | None:
        return self.trace_metadata.get(SOURCE_RUN_METADATA)

    @property
    def name(self) -> str | None:
        return self.tags.get(TRACE_NAME_TAG)

    @property
    def token_usage(self) -> dict[str, int] | None:
        raw = self.trace_metadata.get(TOKEN_USAGE_METADATA)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "trace_id": self.trace_id,
            "trace_location": {
                "type": "MLFLOW_EXPERIMENT",
                "mlflow_experiment": {"experiment_id": str(self.experiment_id)},
            },
            "request_time": ms_to_rfc3339(self.request_time),
            "state": self.state,
            "trace_metadata": dict(self.trace_metadata),
            "tags": dict(self.tags),
        }
        if self.execution_duration is not None:
            out["execution_duration"] = ms_to_duration(self.execution_duration)
        if self.request_preview is not None:
            out["request_preview"] = self.request_preview
        if self.response_preview is not None:
            out["response_preview"] = self.response_preview
        if self.client_request_id:
            out["client_request_id"] = self.client_request_id
        if self.assessments:
            out["assessments"] = [a.to_dict() for a in self.assessments]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TraceInfo:
        location = d.get("trace_location") or {}
        exp = (location.get("mlflow_experiment") or {}).get("experiment_id")
        if exp is None:
            exp = d.get("experiment_id", "0")
        state = str(d.get("state") or d.get("status") or "OK")
        if state not in TRACE_STATES:
            state = "STATE_UNSPECIFIED"
        request_time = d.get("request_time", d.get("timestamp_ms"))
        return cls(
            trace_id=str(d.get("trace_id") or d.get("request_id") or ""),
            experiment_id=str(exp),
            request_time=rfc3339_to_ms(request_time) if request_time is not None else 0,
            execution_duration=duration_to_ms(d.get("execution_duration", d.get("execution_time_ms"))),
            state=state,
            request_preview=d.get("request_preview"),
            response_preview=d.get("response_preview"),
            client_request_id=d.get("client_request_id") or None,
            trace_metadata={str(k): str(v) for k, v in (d.get("trace_metadata") or {}).items()},
            tags={str(k): str(v) for k, v in (d.get("tags") or {}).items()},
            assessments=[Assessment.from_dict(a) for a in d.get("assessments") or []],
        )


@dataclass
class Trace:
    """A trace: its info and its spans (dicts in the traces.json shape)."""

    info: TraceInfo
    spans: list[dict[str, Any]] = field(default_factory=list)

    @property
    def data(self) -> TraceData:
        return TraceData(self.spans)

    def to_dict(self) -> dict[str, Any]:
        return {"info": self.info.to_dict(), "data": {"spans": self.spans}}

    def search_spans(self, name: str | None = None, span_type: str | None = None) -> list[Any]:
        from labkeep.genai.tracing.span import SpanView

        views = [SpanView(s) for s in self.spans]
        return [
            v
            for v in views
            if (name is None or v.name == name) and (span_type is None or v.span_type == span_type)
        ]


@dataclass
class TraceData:
    spans_dicts: list[dict[str, Any]]

    @property
    def spans(self) -> list[Any]:
        from labkeep.genai.tracing.span import SpanView

        return [SpanView(s) for s in self.spans_dicts]

    def to_dict(self) -> dict[str, Any]:
        return {"spans": self.spans_dicts}
