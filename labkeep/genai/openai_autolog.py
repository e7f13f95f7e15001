"""Autolog for the ``openai`` Python client: each chat completion or response becomes a span.

``labkeep.genai.openai_autolog.autolog()`` patches ``chat.completions.create`` and
``responses.create`` (sync and async clients). Every call records a ``CHAT_MODEL`` span with the
request (messages/input and parameters) as inputs, the response as outputs, the model name,
token usage (``mlflow.chat.tokenUsage``) and, when a price is known, cost (``mlflow.llm.cost``).
A streamed call (``stream=True``) returns the client's stream wrapped: the chunks are passed on
unchanged and, when the stream ends (exhausted, closed or left), the span gets the assembled
answer, the chunk count and the usage of the final chunk. ``autolog(disable=True)`` restores
the client.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from labkeep.genai.openai_stream import AsyncStreamProxy, StreamProxy, assemble

log = logging.getLogger("labkeep.openai")

_PARAMS = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "max_output_tokens", "n",
           "stop", "seed", "presence_penalty", "frequency_penalty", "response_format", "tools")  # fmt: skip
# the openai classes are typed Any: autolog replaces their ``create`` methods at run time
_originals: dict[str, tuple[Any, Any]] = {}
_prices: dict[str, tuple[float, float]] = {}
_default_price: list[tuple[float, float] | None] = [None]


def _targets() -> list[tuple[str, Any, str, bool]]:
    """(key, class, span name, is async) of every method autolog patches."""
    from openai.resources.chat.completions import AsyncCompletions, Completions

    out = [
        ("Completions", Completions, "ChatCompletion", False),
        ("AsyncCompletions", AsyncCompletions, "ChatCompletion", True),
    ]
    try:
        from openai.resources.responses import AsyncResponses, Responses
    except ImportError:  # clients older than the Responses API
        return out
    return [*out, ("Responses", Responses, "Response", False), ("AsyncResponses", AsyncResponses, "Response", True)]


def autolog(
    disable: bool = False,
    price_per_1k_input_tokens: float | None = None,
    price_per_1k_output_tokens: float | None = None,
    prices: dict[str, tuple[float, float]] | None = None,
    silent: bool = False,
    log_traces: bool = True,
) -> None:
    """Trace every ``client.chat.completions.create`` and ``client.responses.create`` call.

    Cost = tokens / 1000 × price, from ``prices[model] = (input, output)`` per 1k tokens or the
    default ``price_per_1k_input_tokens`` / ``price_per_1k_output_tokens``.
    ``log_traces=False`` is the same as ``disable=True`` (the client is left untouched).
    """
    try:
        targets = _targets()
    except ImportError:
        from labkeep.exceptions import LabkeepException

        raise LabkeepException(
            "openai autolog needs the 'openai' package: pip install openai",
            error_code="INVALID_PARAMETER_VALUE",
        ) from None
    if disable or not log_traces:
        for key, (cls, orig) in list(_originals.items()):
            cls.create = orig
            del _originals[key]
        return
    _prices.clear()
    _prices.update(prices or {})
    if price_per_1k_input_tokens is not None or price_per_1k_output_tokens is not None:
        _default_price[0] = (price_per_1k_input_tokens or 0.0, price_per_1k_output_tokens or 0.0)
    else:
        _default_price[0] = None
    for key, cls, span_name, is_async in targets:
        if key in _originals:
            continue
        _originals[key] = (cls, cls.create)
        wrap = _wrap_async if is_async else _wrap_sync
        cls.create = wrap(cls.create, span_name)


def _begin(span_name: str, kwargs: dict[str, Any]) -> Any:
    from labkeep.genai.tracing.fluent import start_detached_span

    span = start_detached_span(span_name, "CHAT_MODEL")
    span.set_inputs({k: v for k, v in kwargs.items() if k not in ("extra_headers", "extra_body", "timeout")})
    model = kwargs.get("model")
    if model:
        span.set_attribute("mlflow.llm.model", model)
    params = {k: kwargs[k] for k in _PARAMS if k in kwargs}
    if params:
        span.set_attribute("llm.params", params)
    span.set_attribute("mlflow.llm.provider", "openai")
    return span


def _usage(data: Any) -> tuple[int, int] | None:
    usage = data.get("usage") if isinstance(data, dict) else None
    if not usage:
        return None
    if usage.get("prompt_tokens") is not None:
        return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    if usage.get("input_tokens") is not None:
        return int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
    return None


def record_output(span: Any, kwargs: dict[str, Any], data: Any) -> None:
    """Outputs, token usage and cost of one answer (a response dict) on ``span``."""
    span.set_outputs(data)
    usage = _usage(data)
    if usage is None:
        return
    inp, out = usage
    span.set_token_usage(inp, out)
    model = str(kwargs.get("model") or (data.get("model") if isinstance(data, dict) else ""))
    price = _prices.get(model) or _default_price[0]
    if price is not None:
        span.set_cost(inp / 1000.0 * price[0], out / 1000.0 * price[1])


def _end(span: Any, kwargs: dict[str, Any], response: Any, exc: BaseException | None) -> None:
    from labkeep.genai.tracing.fluent import end_detached_span

    try:
        if exc is None:
            if not hasattr(response, "model_dump") and hasattr(response, "http_response"):
                response = response.parse()  # with_raw_response: the parsed answer (cached by openai)
            record_output(span, kwargs, response.model_dump() if hasattr(response, "model_dump") else response)
    except Exception as err:  # never break the user's call
        log.debug("openai autolog could not record the response: %s", err)
    end_detached_span(span, exc)


def _finish_stream(span: Any, kwargs: dict[str, Any], chunks: list[Any], exc: BaseException | None) -> None:
    from labkeep.genai.tracing.fluent import end_detached_span

    try:
        span.set_attribute("mlflow.llm.stream.chunks", len(chunks))
        if chunks:
            record_output(span, kwargs, assemble(chunks))
    except Exception as err:
        log.debug("openai autolog could not assemble the stream: %s", err)
    end_detached_span(span, exc)


def _wrap_sync(orig: Any, span_name: str) -> Any:
    @functools.wraps(orig)
    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        span = _begin(span_name, kwargs)
        try:
            response = orig(self, *args, **kwargs)
        except BaseException as exc:
            _end(span, kwargs, None, exc)
            raise
        if kwargs.get("stream") and not hasattr(response, "http_response"):
            return StreamProxy(response, lambda chunks, exc: _finish_stream(span, kwargs, chunks, exc))
        _end(span, kwargs, None if kwargs.get("stream") else response, None)
        return response

    return create


def _wrap_async(orig: Any, span_name: str) -> Any:
    @functools.wraps(orig)
    async def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        span = _begin(span_name, kwargs)
        try:
            response = await orig(self, *args, **kwargs)
        except BaseException as exc:
            _end(span, kwargs, None, exc)
            raise
        if kwargs.get("stream") and not hasattr(response, "http_response"):
            return AsyncStreamProxy(response, lambda chunks, exc: _finish_stream(span, kwargs, chunks, exc))
        _end(span, kwargs, None if kwargs.get("stream") else response, None)
        return response

    return create
