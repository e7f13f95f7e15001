"""A LangChain callback handler that records every run (chain, model, retriever, tool) as a span.

LangChain reports each step with a ``run_id`` and its ``parent_run_id``; the handler keeps one
open span per run id, nests it under its parent's span (or under the active labkeep span for a
top-level run, so a chain called inside ``@labkeep.trace`` joins that trace) and ends it on the
matching ``*_end``/``*_error`` call. While a run is open its span is the active one, so spans made
inside it (openai autolog, ``@labkeep.trace`` in a tool) nest under it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from labkeep.genai.tracing import fluent
from labkeep.genai.tracing.span import LLM_MODEL

log = logging.getLogger("labkeep.langchain")

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "function"}


def message_dict(msg: Any) -> dict[str, Any]:
    """A LangChain message as an OpenAI-style ``{"role", "content"}`` dict (tool calls kept)."""
    kind = getattr(msg, "type", None) or "user"
    content = msg.content if hasattr(msg, "content") else str(msg)  # str() of a message is slow
    out: dict[str, Any] = {"role": _ROLES.get(kind, kind), "content": content}
    tool_calls = getattr(msg, "tool_calls", None)
    if tool_calls:
        out["tool_calls"] = tool_calls
    return out


def _jsonable(value: Any) -> Any:
    """Messages and documents in readable form; everything else as is (encoded later)."""
    if hasattr(value, "page_content"):
        return {"page_content": value.page_content, "metadata": getattr(value, "metadata", {}),
                "id": getattr(value, "id", None)}  # fmt: skip
    if hasattr(value, "content") and hasattr(value, "type"):
        return message_dict(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _run_name(serialized: dict[str, Any] | None, kwargs: dict[str, Any], default: str) -> str:
    if kwargs.get("name"):
        return str(kwargs["name"])
    if serialized:
        if serialized.get("name"):
            return str(serialized["name"])
        ident = serialized.get("id")
        if isinstance(ident, list) and ident:
            return str(ident[-1])
    return default


class LabkeepCallbackHandler(BaseCallbackHandler):
    """Pass as ``config={"callbacks": [LabkeepCallbackHandler()]}``, or turn on ``autolog()``."""

    run_inline = True  # called in the caller's thread and context (span nesting follows)
    raise_error = False

    def __init__(self) -> None:
        super().__init__()
        self._spans: dict[UUID, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ bookkeeping
    def _start(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        name: str,
        span_type: str,
        inputs: Any,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> Any:
        with self._lock:
            entry = self._spans.get(parent_run_id) if parent_run_id is not None else None
        parent = entry[0] if entry is not None else None
        span = fluent.start_detached_span(name, span_type, parent)
        span.set_inputs(_jsonable(inputs))
        attrs = {k: v for k, v in (metadata or {}).items() if not str(k).startswith("__")}
        if attrs:
            span.set_attribute("metadata", attrs)
        if tags:
            span.set_attribute("tags", list(tags))
        previous = fluent._active_span.get()
        if isinstance(span, fluent.LiveSpan):
            fluent._active_span.set(span)
        with self._lock:
            self._spans[run_id] = (span, previous)
        return span

    def _end(self, run_id: UUID, outputs: Any = None, error: BaseException | None = None) -> Any:
        with self._lock:
            entry = self._spans.pop(run_id, None)
        if entry is None:
            return None
        span, previous = entry
        if error is None:
            span.set_outputs(_jsonable(outputs))
        if fluent._active_span.get() is span:
            fluent._active_span.set(previous)
        fluent.end_detached_span(span, error)
        return span

    def _span(self, run_id: UUID) -> Any:
        entry = self._spans.get(run_id)
        return entry[0] if entry else None

    # ------------------------------------------------------------------ chains
    def on_chain_start(self, serialized: dict[str, Any], inputs: Any, *, run_id: UUID,
                       parent_run_id: UUID | None = None, tags: list[str] | None = None,
                       metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:  # fmt: skip
        self._start(run_id, parent_run_id, _run_name(serialized, kwargs, "chain"), "CHAIN", inputs,
                    metadata, tags)  # fmt: skip

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, outputs)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    # ------------------------------------------------------------------ models
    def _model_start(self, serialized: dict[str, Any], span_type: str, inputs: Any, run_id: UUID,
                     parent_run_id: UUID | None, tags: list[str] | None, metadata: dict[str, Any] | None,
                     kwargs: dict[str, Any]) -> None:  # fmt: skip
        span = self._start(run_id, parent_run_id, _run_name(serialized, kwargs, span_type.lower()),
                           span_type, inputs, metadata, tags)  # fmt: skip
        params = dict(kwargs.get("invocation_params") or {})
        model = (params.get("model") or params.get("model_name")
                 or (metadata or {}).get("ls_model_name"))  # fmt: skip
        if model:
            span.set_attribute(LLM_MODEL, model)
        provider = (metadata or {}).get("ls_provider")
        if provider:
            span.set_attribute("mlflow.llm.provider", provider)
        if params:
            span.set_attribute("invocation_params", params)

    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[Any]], *, run_id: UUID,
                            parent_run_id: UUID | None = None, tags: list[str] | None = None,
                            metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:  # fmt: skip
        batch = [[message_dict(m) for m in conv] for conv in messages]
        inputs = {"messages": batch[0]} if len(batch) == 1 else {"messages": batch}
        self._model_start(serialized, "CHAT_MODEL", inputs, run_id, parent_run_id, tags, metadata, kwargs)

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID,
                     parent_run_id: UUID | None = None, tags: list[str] | None = None,
                     metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:  # fmt: skip
        self._model_start(serialized, "LLM", {"prompts": prompts}, run_id, parent_run_id, tags, metadata,
                          kwargs)  # fmt: skip

    def on_llm_new_token(self, token: str | list[str | dict[str, Any]], *, run_id: UUID, **kwargs: Any) -> None:
        span = self._span(run_id)
        if span is not None:
            span.add_event("new_token", {"token": token})

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._span(run_id)
        outputs: Any = response
        try:
            gens = [[self._generation(g) for g in batch] for batch in response.generations]
            outputs = {"generations": gens, "llm_output": response.llm_output}
            if span is not None:
                usage = self._usage(response)
                if usage is not None:
                    span.set_token_usage(*usage)
        except Exception as err:  # never break the user's chain
            log.debug("could not read the LLM result: %s", err)
        self._end(run_id, outputs)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    @staticmethod
    def _generation(gen: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"text": gen.text}
        msg = getattr(gen, "message", None)
        if msg is not None:
            out["message"] = message_dict(msg)
        if gen.generation_info:
            out["generation_info"] = gen.generation_info
        return out

    @staticmethod
    def _usage(response: Any) -> tuple[int, int] | None:
        inp = out = 0
        found = False
        for batch in response.generations:
            for gen in batch:
                meta = getattr(getattr(gen, "message", None), "usage_metadata", None)
                if meta:
                    inp += int(meta.get("input_tokens") or 0)
                    out += int(meta.get("output_tokens") or 0)
                    found = True
        if found:
            return inp, out
        usage = (response.llm_output or {}).get("token_usage") or {}
        if usage.get("prompt_tokens") is not None:
            return int(usage["prompt_tokens"]), int(usage.get("completion_tokens") or 0)
        return None

    # ------------------------------------------------------------------ retrievers and tools
    def on_retriever_start(self, serialized: dict[str, Any], query: str, *, run_id: UUID,
                           parent_run_id: UUID | None = None, tags: list[str] | None = None,
                           metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:  # fmt: skip
        self._start(run_id, parent_run_id, _run_name(serialized, kwargs, "retriever"), "RETRIEVER",
                    {"query": query}, metadata, tags)  # fmt: skip

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, list(documents))

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, *, run_id: UUID,
                      parent_run_id: UUID | None = None, tags: list[str] | None = None,
                      metadata: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None,
                      **kwargs: Any) -> None:  # fmt: skip
        self._start(run_id, parent_run_id, _run_name(serialized, kwargs, "tool"), "TOOL",
                    inputs if inputs is not None else input_str, metadata, tags)  # fmt: skip

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, getattr(output, "content", output))

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    # ------------------------------------------------------------------ agents and retries
    def on_agent_action(self, action: Any, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._span(run_id)
        if span is not None:
            span.add_event("agent_action", {"tool": getattr(action, "tool", None),
                                            "tool_input": getattr(action, "tool_input", None),
                                            "log": getattr(action, "log", None)})  # fmt: skip

    def on_agent_finish(self, finish: Any, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._span(run_id)
        if span is not None:
            span.add_event("agent_finish", {"return_values": getattr(finish, "return_values", None)})

    def on_retry(self, retry_state: Any, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._span(run_id)
        if span is not None:
            span.add_event("retry", {"attempt": getattr(retry_state, "attempt_number", None)})
