"""Spans: ``LiveSpan`` (being recorded) and ``SpanView`` (read back from a stored trace).

A span serialises to the ``traces.json`` shape MLflow uses: base64 trace/span ids, nanosecond
times, ``status.code`` as ``STATUS_CODE_OK|ERROR|UNSET`` and every attribute value JSON-encoded.
Values are encoded when set; one larger than the payload limit is cut and marked (never rejected).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from labkeep import config

SPAN_INPUTS = "mlflow.spanInputs"
SPAN_OUTPUTS = "mlflow.spanOutputs"
SPAN_TYPE = "mlflow.spanType"
SPAN_FUNCTION = "mlflow.spanFunctionName"
TRACE_REQUEST_ID = "mlflow.traceRequestId"
TOKEN_USAGE = "mlflow.chat.tokenUsage"
LLM_COST = "mlflow.llm.cost"
LLM_MODEL = "mlflow.llm.model"

DEFAULT_MAX_PAYLOAD_CHARS = 100_000
TRUNCATION_MARKER = "...[truncated by labkeep: {kept} of {total} characters kept]"


class SpanType:
    LLM = "LLM"
    CHAT_MODEL = "CHAT_MODEL"
    CHAIN = "CHAIN"
    AGENT = "AGENT"
    TOOL = "TOOL"
    RETRIEVER = "RETRIEVER"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    PARSER = "PARSER"
    EVALUATOR = "EVALUATOR"
    UNKNOWN = "UNKNOWN"


class SpanStatusCode:
    OK = "OK"
    ERROR = "ERROR"
    UNSET = "UNSET"


def max_payload_chars() -> int:
    raw = config.TRACE_MAX_PAYLOAD_CHARS.get()
    try:
        return max(64, int(raw)) if raw else DEFAULT_MAX_PAYLOAD_CHARS
    except ValueError:
        return DEFAULT_MAX_PAYLOAD_CHARS


def _default(obj: Any) -> Any:
    for attr in ("model_dump", "to_dict", "dict"):
        fn = getattr(obj, attr, None)
        if callable(fn):
            try:
                return fn()
            except Exception:
                break
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return str(obj)


def encode_value(value: Any, limit: int | None = None) -> str:
    """JSON text of ``value``; over ``limit`` characters it becomes a truncated, marked string."""
    try:
        text = json.dumps(value, default=_default, ensure_ascii=False)
    except (TypeError, ValueError):
        text = json.dumps(str(value), ensure_ascii=False)
    limit = max_payload_chars() if limit is None else limit
    if len(text) <= limit:
        return text
    kept = text[:limit]
    return json.dumps(kept + TRUNCATION_MARKER.format(kept=limit, total=len(text)), ensure_ascii=False)


def decode_value(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def b64_id(value: int, nbytes: int) -> str:
    return base64.b64encode(value.to_bytes(nbytes, "big")).decode()


def hex_from_b64(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return base64.b64decode(value).hex()
    except (ValueError, TypeError):
        return value


class LiveSpan:
    """A span being recorded. Use through ``labkeep.start_span`` or ``@labkeep.trace``."""

    __slots__ = (
        "name",
        "span_type",
        "request_id",
        "_trace_int",
        "_span_int",
        "_parent_int",
        "start_time_ns",
        "end_time_ns",
        "status",
        "status_message",
        "_attrs",
        "events",
    )

    def __init__(
        self,
        name: str,
        span_type: str,
        request_id: str,
        trace_int: int,
        span_int: int,
        parent_int: int | None,
        start_time_ns: int | None = None,
    ) -> None:
        self.name = name
        self.span_type = span_type or SpanType.UNKNOWN
        self.request_id = request_id
        self._trace_int = trace_int
        self._span_int = span_int
        self._parent_int = parent_int
        self.start_time_ns = start_time_ns if start_time_ns is not None else time.time_ns()
        self.end_time_ns: int | None = None
        self.status = SpanStatusCode.UNSET
        self.status_message = ""
        self._attrs: dict[str, str] = {
            TRACE_REQUEST_ID: json.dumps(request_id),
            SPAN_TYPE: json.dumps(self.span_type),
        }
        self.events: list[dict[str, Any]] = []

    # ---- identity
    @property
    def trace_id(self) -> str:
        return self.request_id

    @property
    def span_id(self) -> str:
        return f"{self._span_int:016x}"

    @property
    def parent_id(self) -> str | None:
        return None if self._parent_int is None else f"{self._parent_int:016x}"

    # ---- recording
    def set_inputs(self, inputs: Any) -> None:
        self._attrs[SPAN_INPUTS] = encode_value(inputs)

    def set_outputs(self, outputs: Any) -> None:
        self._attrs[SPAN_OUTPUTS] = encode_value(outputs)

    def set_attribute(self, key: str, value: Any) -> None:
        self._attrs[str(key)] = encode_value(value)

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_span_type(self, span_type: str) -> None:
        self.span_type = span_type
        self._attrs[SPAN_TYPE] = json.dumps(span_type)

    def set_status(self, status: str, message: str = "") -> None:
        status = getattr(status, "status_code", status)  # mlflow's SpanStatus
        status = str(getattr(status, "value", status)).upper()  # an enum member
        status = status.replace("STATUS_CODE_", "")
        if status not in ("OK", "ERROR", "UNSET"):
            from labkeep.exceptions import InvalidParameterValue

            raise InvalidParameterValue(f"Span status must be OK, ERROR or UNSET, got {status!r}.")
        self.status = status
        self.status_message = message or ""

    def add_event(self, name: str, attributes: dict[str, Any] | None = None) -> None:
        self.events.append(
            {
                "name": name,
                "timestamp": time.time_ns(),
                "attributes": {k: encode_value(v) for k, v in (attributes or {}).items()},
            }
        )

    def record_exception(self, exc: BaseException) -> None:
        import traceback

        self.set_status(SpanStatusCode.ERROR, f"{type(exc).__name__}: {exc}")
        self.add_event(
            "exception",
            {
                "exception.type": type(exc).__name__,
                "exception.message": str(exc),
                "exception.stacktrace": "".join(
                    traceback.format_exception(type(exc), exc, exc.__traceback__)
                )[-4000:],
            },
        )

    def set_token_usage(self, input_tokens: int, output_tokens: int) -> None:
        self.set_attribute(
            TOKEN_USAGE,
            {
                "input_tokens": int(input_tokens),
                "output_tokens": int(output_tokens),
                "total_tokens": int(input_tokens) + int(output_tokens),
            },
        )

    def set_cost(self, input_cost: float, output_cost: float) -> None:
        self.set_attribute(
            LLM_COST,
            {"input_cost": input_cost, "output_cost": output_cost, "total_cost": input_cost + output_cost},
        )

    # ---- reading
    @property
    def inputs(self) -> Any:
        return decode_value(self._attrs.get(SPAN_INPUTS))

    @property
    def outputs(self) -> Any:
        return decode_value(self._attrs.get(SPAN_OUTPUTS))

    @property
    def attributes(self) -> dict[str, Any]:
        return {k: decode_value(v) for k, v in self._attrs.items()}

    def get_attribute(self, key: str) -> Any:
        return decode_value(self._attrs.get(key))

    def end(self, end_time_ns: int | None = None) -> None:
        if self.end_time_ns is None:
            self.end_time_ns = end_time_ns if end_time_ns is not None else time.time_ns()
            if self.status == SpanStatusCode.UNSET:
                self.status = SpanStatusCode.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": b64_id(self._trace_int, 16),
            "span_id": b64_id(self._span_int, 8),
            "parent_span_id": None if self._parent_int is None else b64_id(self._parent_int, 8),
            "name": self.name,
            "start_time_unix_nano": self.start_time_ns,
            "end_time_unix_nano": self.end_time_ns,
            "events": [
                {"name": e["name"], "timestamp": e["timestamp"], "attributes": e["attributes"]}
                for e in self.events
            ],
            "status": {"code": f"STATUS_CODE_{self.status}", "message": self.status_message},
            "attributes": dict(self._attrs),
            "links": [],
        }


class NoOpSpan:
    """Returned when tracing is disabled: accepts every call, records nothing."""

    name = ""
    span_type = SpanType.UNKNOWN
    trace_id = request_id = span_id = parent_id = None
    inputs = outputs = None
    attributes: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


class SpanView:
    """Read-only access to a stored span dict (traces.json shape)."""

    def __init__(self, d: dict[str, Any]) -> None:
        self._d = d
        self._attrs = {k: decode_value(v) for k, v in (d.get("attributes") or {}).items()}

    def to_dict(self) -> dict[str, Any]:
        return self._d

    name = property(lambda self: self._d.get("name"))
    span_id = property(lambda self: hex_from_b64(self._d.get("span_id")))
    parent_id = property(lambda self: hex_from_b64(self._d.get("parent_span_id")))
    start_time_ns = property(lambda self: self._d.get("start_time_unix_nano"))
    end_time_ns = property(lambda self: self._d.get("end_time_unix_nano"))
    attributes = property(lambda self: self._attrs)
    inputs = property(lambda self: self._attrs.get(SPAN_INPUTS))
    outputs = property(lambda self: self._attrs.get(SPAN_OUTPUTS))
    span_type = property(lambda self: self._attrs.get(SPAN_TYPE))
    trace_id = property(lambda self: self._attrs.get(TRACE_REQUEST_ID))
    events = property(lambda self: self._d.get("events") or [])

    @property
    def status(self) -> str:
        code = str((self._d.get("status") or {}).get("code") or "UNSET")
        return code.replace("STATUS_CODE_", "")

    @property
    def status_message(self) -> str:
        return str((self._d.get("status") or {}).get("message") or "")

    @property
    def duration_ms(self) -> float | None:
        if self.end_time_ns is None or self.start_time_ns is None:
            return None
        return (self.end_time_ns - self.start_time_ns) / 1e6

    def get_attribute(self, key: str) -> Any:
        return self._attrs.get(key)

    def __repr__(self) -> str:
        return f"SpanView(name={self.name!r}, span_type={self.span_type!r}, status={self.status})"
