"""Tracing for LLM applications: ``@trace``, ``start_span``, search and read back, feedback.

Light to import: entities and the recorder load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "trace": "fluent",
    "start_span": "fluent",
    "get_current_active_span": "fluent",
    "get_last_active_trace_id": "fluent",
    "update_current_trace": "fluent",
    "search_traces": "fluent",
    "get_trace": "fluent",
    "set_trace_tag": "fluent",
    "delete_trace_tag": "fluent",
    "log_feedback": "fluent",
    "log_expectation": "fluent",
    "flush_trace_async_logging": "fluent",
    "enable": "fluent",
    "disable": "fluent",
    "SpanType": "span",
    "LiveSpan": "span",
    "SpanView": "span",
    "Trace": "entities",
    "TraceInfo": "entities",
    "Assessment": "entities",
}


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(f"labkeep.genai.tracing.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'labkeep.genai.tracing' has no attribute {name!r}")


__all__ = sorted(_NAMES)
