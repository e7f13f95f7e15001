"""Recording traces: ``@trace``, ``start_span``, the active span (contextvars) and export.

A trace is buffered in memory while its spans run; when the root span ends the whole trace
(info + spans) is written to the trace store of the current tracking URI in one call. Export
errors are logged, never raised into the traced code.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Literal

from labkeep import config
from labkeep.genai.tracing.entities import (
    SOURCE_RUN_METADATA,
    TOKEN_USAGE_METADATA,
    TRACE_NAME_TAG,
    TraceInfo,
)
from labkeep.genai.tracing.span import (
    LLM_COST,
    SPAN_FUNCTION,
    TOKEN_USAGE,
    LiveSpan,
    NoOpSpan,
    SpanType,
)

log = logging.getLogger("labkeep.tracing")

PREVIEW_CHARS = 1000
COST_METADATA = "mlflow.trace.cost"

_active_span: ContextVar[LiveSpan | None] = ContextVar("labkeep_active_span", default=None)
_rand = random.Random()
# A forked child must not repeat its parent's ids (trace ids are primary keys).
os.register_at_fork(after_in_child=lambda: _rand.seed())
_state = threading.local()
_last_trace_id: list[str | None] = [None]
_enabled = [True]


class _TraceBuffer:
    __slots__ = ("request_id", "trace_int", "spans", "tags", "metadata", "experiment_id", "run_id")

    def __init__(self, trace_int: int) -> None:
        self.trace_int = trace_int
        self.request_id = f"tr-{trace_int:032x}"
        self.spans: list[LiveSpan] = []
        self.tags: dict[str, str] = {}
        self.metadata: dict[str, str] = {}
        self.experiment_id: str | None = None
        self.run_id: str | None = None


_buffers: dict[str, _TraceBuffer] = {}
_buffers_lock = threading.Lock()


def enable() -> None:
    """Turn tracing on (the default)."""
    _enabled[0] = True


def disable() -> None:
    """Turn tracing off: decorated functions run untraced, ``start_span`` yields a no-op span."""
    _enabled[0] = False


def get_current_active_span() -> LiveSpan | None:
    """The span active in this thread or task, or ``None``."""
    return _active_span.get()


def get_last_active_trace_id() -> str | None:
    """The id of the trace most recently finished in this process, or ``None``."""
    return _last_trace_id[0]


def _new_span(name: str, span_type: str, parent: LiveSpan | None) -> LiveSpan:
    buf: _TraceBuffer | None
    if parent is None:
        buf = _TraceBuffer(_rand.getrandbits(128) or 1)
        with _buffers_lock:
            _buffers[buf.request_id] = buf
        span = LiveSpan(name, span_type, buf.request_id, buf.trace_int, _rand.getrandbits(64) or 1, None)
    else:
        buf = _buffers.get(parent.request_id)
        span = LiveSpan(
            name,
            span_type,
            parent.request_id,
            parent._trace_int,
            _rand.getrandbits(64) or 1,
            parent._span_int,
        )
    if buf is not None:
        buf.spans.append(span)
    return span


class _SpanContext:
    """``with start_span(...) as span``: activates the span, ends it, records exceptions."""

    __slots__ = ("span", "_token", "_name", "_type", "_attrs")

    def __init__(self, name: str, span_type: str, attributes: dict[str, Any] | None) -> None:
        self._name, self._type, self._attrs = name, span_type, attributes
        self.span: Any = None
        self._token: Any = None

    def __enter__(self) -> Any:
        if not _enabled[0]:
            self.span = NoOpSpan()
            return self.span
        span = _new_span(self._name, self._type, _active_span.get())
        if self._attrs:
            span.set_attributes(self._attrs)
        self.span = span
        self._token = _active_span.set(span)
        return span

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Literal[False]:
        span = self.span
        if isinstance(span, NoOpSpan):
            return False
        if exc is not None:
            span.record_exception(exc)
        _finish(span, self._token)
        return False


def start_span(
    name: str = "span", span_type: str = SpanType.UNKNOWN, attributes: dict[str, Any] | None = None
) -> _SpanContext:
    """A context manager that records a span (nested under the active one, if any).

    ``with labkeep.start_span("retrieve", span_type="RETRIEVER") as span: span.set_inputs(q)``.
    """
    return _SpanContext(name, span_type, attributes)


class _Capture:
    """``capture_trace``: a root span whose trace is handed back instead of being stored."""

    def __init__(self, name: str, span_type: str) -> None:
        self._name, self._type = name, span_type
        self.span: Any = None
        self.info: Any = None
        self.spans: list[dict[str, Any]] = []

    def __enter__(self) -> _Capture:
        self.span = _new_span(self._name, self._type, None)
        self._token = _active_span.set(self.span)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Literal[False]:
        span = self.span
        if exc is not None:
            span.record_exception(exc)
        span.end()
        try:
            _active_span.reset(self._token)
        except ValueError:
            _active_span.set(None)
        with _buffers_lock:
            buf = _buffers.pop(span.request_id)
        self.info = build_trace_info(span, buf, "0", None)
        self.spans = [s.to_dict() for s in buf.spans]
        return False


def capture_trace(name: str, span_type: str = SpanType.CHAIN) -> _Capture:
    """Record a trace (nested ``@trace`` calls included) without storing it; see ``_Capture``."""
    return _Capture(name, span_type)


def _finish(span: LiveSpan, token: Any) -> None:
    span.end()
    try:
        _active_span.reset(token)
    except ValueError:  # ended in another context (e.g. a generator finished elsewhere)
        _active_span.set(None)
    if span._parent_int is None:
        _export(span)


def start_detached_span(name: str, span_type: str, parent: LiveSpan | None = None) -> Any:
    """A span that is not made the active one: for integrations whose work starts and ends in
    different calls (callbacks, streams). ``parent`` defaults to the active span; a ``NoOpSpan``
    when tracing is off. End it with ``end_detached_span``.
    """
    if not _enabled[0]:
        return NoOpSpan()
    return _new_span(name, span_type, parent if parent is not None else _active_span.get())


def end_detached_span(span: Any, exc: BaseException | None = None) -> None:
    """End a span from ``start_detached_span`` (recording ``exc``); a root span exports its trace."""
    if isinstance(span, NoOpSpan) or span.end_time_ns is not None:
        return
    if exc is not None:
        span.record_exception(exc)
    span.end()
    if span._parent_int is None:
        _export(span)


def trace(
    func: Callable | None = None,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: dict[str, Any] | None = None,
) -> Any:
    """Decorator recording each call as a span: inputs (bound arguments), output, exception, duration.

    Works on plain and ``async`` functions and on generators (outputs = the yielded items).
    ``@labkeep.trace`` and ``@labkeep.trace(name="x", span_type="LLM")`` both work.
    """

    def decorate(fn: Callable) -> Callable:
        span_name = name or str(getattr(fn, "__name__", "span"))
        try:
            sig: inspect.Signature | None = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None
        fn_name = json.dumps(getattr(fn, "__name__", span_name))

        def begin(args: tuple, kwargs: dict) -> tuple[LiveSpan, Any]:
            span = _new_span(span_name, span_type, _active_span.get())
            span._attrs[SPAN_FUNCTION] = fn_name
            if attributes:
                span.set_attributes(attributes)
            span.set_inputs(_bind(sig, args, kwargs))
            return span, _active_span.set(span)

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if not _enabled[0]:
                    return await fn(*args, **kwargs)
                span, token = begin(args, kwargs)
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as exc:
                    span.record_exception(exc)
                    _finish(span, token)
                    raise
                span.set_outputs(result)
                _finish(span, token)
                return result

            return async_wrapper

        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                if not _enabled[0]:
                    yield from fn(*args, **kwargs)
                    return
                span, token = begin(args, kwargs)
                items = []
                try:
                    for item in fn(*args, **kwargs):
                        items.append(item)
                        yield item
                except BaseException as exc:
                    if not isinstance(exc, GeneratorExit):
                        span.record_exception(exc)
                    span.set_outputs(items)
                    _finish(span, token)
                    raise
                span.set_outputs(items)
                _finish(span, token)

            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not _enabled[0]:
                return fn(*args, **kwargs)
            span, token = begin(args, kwargs)
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                span.record_exception(exc)
                _finish(span, token)
                raise
            span.set_outputs(result)
            _finish(span, token)
            return result

        return wrapper

    if func is not None and callable(func):
        return decorate(func)
    return decorate


def _bind(sig: inspect.Signature | None, args: tuple, kwargs: dict) -> dict[str, Any]:
    if sig is None:
        return {"args": list(args), **kwargs}
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:
        return {"args": list(args), **kwargs}
    bound.apply_defaults()
    out = dict(bound.arguments)
    for pname in ("self", "cls"):
        out.pop(pname, None)
    return out


# ---------------------------------------------------------------- trace-level updates
def update_current_trace(
    tags: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    client_request_id: str | None = None,
) -> None:
    """Add tags / metadata to the trace being recorded (no-op outside a trace)."""
    span = _active_span.get()
    buf = _buffers.get(span.request_id) if span is not None else None
    if buf is None:
        log.warning("update_current_trace() called outside a trace; nothing to update.")
        return
    for k, v in (tags or {}).items():
        buf.tags[str(k)] = str(v)
    for k, v in (metadata or {}).items():
        buf.metadata[str(k)] = str(v)
    if client_request_id:
        buf.metadata["__client_request_id"] = client_request_id


def _preview(value: str | None) -> str | None:
    if value is None:
        return None
    return value if len(value) <= PREVIEW_CHARS else value[: PREVIEW_CHARS - 3] + "..."


def _target() -> tuple[str, str | None]:
    """(experiment id, run id) the trace belongs to: the active run's, else the active experiment."""
    from labkeep import fluent

    run = fluent.active_run()
    if run is not None:
        return str(run.info.experiment_id), run.info.run_id
    return fluent._get_experiment_id(), None


def _outermost(spans: list[LiveSpan], attr: str) -> set[int]:
    """Ids of the spans carrying ``attr`` with no ancestor that carries it too."""
    by_id = {s._span_int: s for s in spans}
    out = set()
    for s in spans:
        if attr not in s._attrs:
            continue
        parent = by_id.get(s._parent_int) if s._parent_int is not None else None
        while parent is not None and attr not in parent._attrs:
            parent = by_id.get(parent._parent_int) if parent._parent_int is not None else None
        if parent is None:
            out.add(s._span_int)
    return out


def build_trace_info(root: LiveSpan, buf: _TraceBuffer, experiment_id: str, run_id: str | None) -> TraceInfo:
    usage = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    cost = {"input_cost": 0.0, "output_cost": 0.0, "total_cost": 0.0}
    has_usage = has_cost = False
    # A span inside another span that reports usage (a LangChain chat model span around the
    # openai client's span) describes the same tokens: count the outermost one only.
    counted_usage = _outermost(buf.spans, TOKEN_USAGE)
    counted_cost = _outermost(buf.spans, LLM_COST)
    for s in buf.spans:
        if s._span_int in counted_usage:
            has_usage = _add_json_numbers(s._attrs.get(TOKEN_USAGE), usage, int) or has_usage
        if s._span_int in counted_cost:
            has_cost = _add_json_numbers(s._attrs.get(LLM_COST), cost, float) or has_cost
    metadata = {"mlflow.trace_schema.version": "3", "mlflow.user": _user()}
    inputs = root._attrs.get("mlflow.spanInputs")
    outputs = root._attrs.get("mlflow.spanOutputs")
    if inputs is not None:
        metadata["mlflow.traceInputs"] = _preview(inputs) or ""
    if outputs is not None:
        metadata["mlflow.traceOutputs"] = _preview(outputs) or ""
    if run_id:
        metadata[SOURCE_RUN_METADATA] = run_id
    if has_usage:
        metadata[TOKEN_USAGE_METADATA] = json.dumps(usage)
    if has_cost:
        metadata[COST_METADATA] = json.dumps(cost)
    client_request_id = buf.metadata.pop("__client_request_id", None)
    metadata.update(buf.metadata)
    tags = {TRACE_NAME_TAG: root.name, **buf.tags}
    end = root.end_time_ns or time.time_ns()
    return TraceInfo(
        trace_id=buf.request_id,
        experiment_id=str(experiment_id),
        request_time=root.start_time_ns // 1_000_000,
        execution_duration=max(0, (end - root.start_time_ns) // 1_000_000),
        state="ERROR" if root.status == "ERROR" else "OK",
        request_preview=_preview(inputs),
        response_preview=_preview(outputs),
        client_request_id=client_request_id,
        trace_metadata=metadata,
        tags=tags,
    )


_user_cache: list[str] = []


def _user() -> str:
    if not _user_cache:
        import getpass

        try:
            _user_cache.append(getpass.getuser())
        except Exception:
            _user_cache.append("unknown")
    return _user_cache[0]


def _export(root: LiveSpan) -> None:
    with _buffers_lock:
        buf = _buffers.pop(root.request_id, None)
    if buf is None:
        return
    _last_trace_id[0] = buf.request_id
    try:
        experiment_id, run_id = _target()
        info = build_trace_info(root, buf, experiment_id, run_id)
        from labkeep.genai.tracing.export import async_enabled, exporter
        from labkeep.stores import get_trace_store

        spans = [s.to_dict() for s in buf.spans]
        if async_enabled():
            exporter().submit(get_trace_store(), info, spans)
        else:
            get_trace_store().log_trace(info, spans)
    except Exception as exc:  # never break the traced code
        log.warning("labkeep could not store trace %s: %s", buf.request_id, exc)
        if config.TRACE_RAISE_ON_EXPORT_ERROR.flag():
            raise


# ---------------------------------------------------------------- reading back
def get_trace(trace_id: str) -> Any:
    """The stored ``Trace`` (info + spans) with this id."""
    _flush()
    from labkeep.stores import get_trace_store

    return get_trace_store().get_trace(trace_id)


def search_traces(
    experiment_ids: list[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: list[str] | None = None,
    run_id: str | None = None,
    return_type: str = "pandas",
    include_spans: bool = True,
    locations: list[str] | None = None,
) -> Any:
    """Traces of the given (default: active) experiments, newest first.

    ``return_type="pandas"`` gives a DataFrame (one row per trace), ``"list"`` a list of ``Trace``.
    ``run_id`` restricts to traces recorded under that run.
    """
    from labkeep.exceptions import InvalidParameterValue
    from labkeep.stores import get_trace_store

    if return_type not in ("pandas", "list"):
        raise InvalidParameterValue(f"return_type must be 'pandas' or 'list', got {return_type!r}.")
    ids = list(experiment_ids or locations or [])
    if not ids:
        from labkeep import fluent

        ids = [fluent._get_experiment_id()]
    if run_id:
        clause = f"metadata.`{SOURCE_RUN_METADATA}` = '{run_id}'"
        filter_string = f"{filter_string} AND {clause}" if filter_string else clause
    _flush()
    store = get_trace_store()
    infos: list[TraceInfo] = []
    token = None
    while True:
        page_size = 1000 if max_results is None else min(1000, max_results - len(infos))
        page, token = store.search_traces(ids, filter_string, page_size, order_by, token)
        infos += page
        if not token or (max_results is not None and len(infos) >= max_results):
            break
    traces = store.batch_get_traces([i.trace_id for i in infos]) if include_spans else None
    if traces is None:
        from labkeep.genai.tracing.entities import Trace

        traces = [Trace(i, []) for i in infos]
    if return_type == "list":
        return traces
    return traces_to_dataframe(traces)


def traces_to_dataframe(traces: list[Any]) -> Any:
    import pandas as pd

    from labkeep.genai.tracing.span import decode_value

    rows = []
    for t in traces:
        i = t.info
        rows.append(
            {
                "trace_id": i.trace_id,
                "request_id": i.trace_id,
                "trace": t,
                "client_request_id": i.client_request_id,
                "state": i.state,
                "status": i.state,
                "request_time": i.request_time,
                "timestamp_ms": i.request_time,
                "execution_duration": i.execution_duration,
                "execution_time_ms": i.execution_duration,
                "request": decode_value(i.trace_metadata.get("mlflow.traceInputs", i.request_preview)),
                "response": decode_value(i.trace_metadata.get("mlflow.traceOutputs", i.response_preview)),
                "trace_metadata": i.trace_metadata,
                "tags": i.tags,
                "spans": [s for s in t.spans],
                "assessments": [a.to_dict() for a in i.assessments],
                "name": i.name,
                "run_id": i.run_id,
                "experiment_id": i.experiment_id,
                "token_usage": i.token_usage,
            }
        )
    return pd.DataFrame(rows, columns=_DF_COLUMNS)


_DF_COLUMNS = [
    "trace_id",
    "request_id",
    "trace",
    "client_request_id",
    "state",
    "status",
    "request_time",
    "timestamp_ms",
    "execution_duration",
    "execution_time_ms",
    "request",
    "response",
    "trace_metadata",
    "tags",
    "spans",
    "assessments",
    "name",
    "run_id",
    "experiment_id",
    "token_usage",
]


def set_trace_tag(trace_id: str, key: str, value: Any) -> None:
    """Set a tag on a trace."""
    from labkeep.stores import get_trace_store

    _flush()
    get_trace_store().set_trace_tag(trace_id, key, value)


def delete_trace_tag(trace_id: str, key: str) -> None:
    """Remove a tag from a trace."""
    from labkeep.stores import get_trace_store

    _flush()
    get_trace_store().delete_trace_tag(trace_id, key)


def log_feedback(
    trace_id: str,
    name: str = "feedback",
    value: Any = None,
    source: Any = None,
    rationale: str | None = None,
    metadata: dict[str, Any] | None = None,
    span_id: str | None = None,
    error: Any = None,
) -> Any:
    """Record a judgement on a trace (a score, a label, a bool) with its source and rationale."""
    return _log_assessment("feedback", trace_id, name, value, source, rationale, metadata, span_id, error)


def log_expectation(
    trace_id: str, name: str, value: Any, source: Any = None, metadata: dict[str, Any] | None = None
) -> Any:
    """Record the expected (ground-truth) answer for a trace."""
    return _log_assessment("expectation", trace_id, name, value, source, None, metadata, None, None)


def _log_assessment(
    kind: str,
    trace_id: str,
    name: str,
    value: Any,
    source: Any,
    rationale: str | None,
    metadata: dict[str, Any] | None,
    span_id: str | None,
    error: Any,
) -> Any:
    from labkeep.genai.tracing.entities import Assessment
    from labkeep.stores import get_trace_store

    _flush()
    source_type, source_id = "HUMAN", _user()
    if isinstance(source, dict):
        source_type = str(source.get("source_type", source_type))
        source_id = str(source.get("source_id", source_id))
    elif source is not None:
        source_type = str(getattr(source, "source_type", source_type))
        source_id = str(getattr(source, "source_id", source_id))
    err = None
    if error is not None:
        err = (
            {"error_code": type(error).__name__, "error_message": str(error)}
            if isinstance(error, BaseException)
            else (error if isinstance(error, dict) else {"error_message": str(error)})
        )
    a = Assessment(
        name=name,
        trace_id=trace_id,
        value=value,
        kind=kind,
        rationale=rationale,
        source_type=source_type,
        source_id=source_id,
        metadata={str(k): str(v) for k, v in (metadata or {}).items()},
        span_id=span_id,
        error=err,
    )
    return get_trace_store().create_assessment(a)


def flush_trace_async_logging(terminate: bool = False) -> None:
    """Wait until traces queued for background export (``LABKEEP_ASYNC_TRACE_LOGGING``) are stored."""
    _flush()


def _flush() -> None:
    from labkeep.genai.tracing.export import flush

    flush()


def _reset_for_tests() -> None:
    with _buffers_lock:
        _buffers.clear()
    _last_trace_id[0] = None
    _enabled[0] = True


def _add_json_numbers(raw: str | None, totals: dict[str, Any], cast: Any) -> bool:
    """Add the numbers of a JSON object attribute into ``totals`` (known keys only); False when
    the attribute is absent or not such an object."""
    if raw is None:
        return False
    try:
        for k, v in json.loads(raw).items():
            if k in totals:
                totals[k] += cast(v)
    except (ValueError, TypeError, AttributeError):
        return False
    return True
