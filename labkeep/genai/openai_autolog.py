"""Autolog for the ``openai`` Python client: each chat completion becomes a span.

``labkeep.genai.openai_autolog.autolog()`` patches ``chat.completions.create`` (sync and async).
Every call records a ``CHAT_MODEL`` span with the request (messages and parameters) as inputs,
the response as outputs, the model name, token usage (``mlflow.chat.tokenUsage``) and, when a
price is known, cost (``mlflow.llm.cost``). ``autolog(disable=True)`` restores the client.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger("labkeep.openai")

_PARAMS = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "stop", "seed",
           "presence_penalty", "frequency_penalty", "response_format", "tools")  # fmt: skip
_originals: dict[str, Any] = {}
_prices: dict[str, tuple[float, float]] = {}
_default_price: list[tuple[float, float] | None] = [None]


def autolog(
    disable: bool = False,
    price_per_1k_input_tokens: float | None = None,
    price_per_1k_output_tokens: float | None = None,
    prices: dict[str, tuple[float, float]] | None = None,
) -> None:
    """Trace every ``client.chat.completions.create`` call.

    Cost = tokens / 1000 × price, from ``prices[model] = (input, output)`` per 1k tokens or the
    default ``price_per_1k_input_tokens`` / ``price_per_1k_output_tokens``.
    """
    try:
        from openai.resources.chat.completions import AsyncCompletions, Completions
    except ImportError:
        from labkeep.exceptions import LabkeepException

        raise LabkeepException(
            "openai autolog needs the 'openai' package: pip install openai",
            error_code="INVALID_PARAMETER_VALUE",
        ) from None
    if disable:
        for cls in (Completions, AsyncCompletions):
            orig = _originals.pop(cls.__name__, None)
            if orig is not None:
                cls.create = orig
        return
    _prices.clear()
    _prices.update(prices or {})
    if price_per_1k_input_tokens is not None or price_per_1k_output_tokens is not None:
        _default_price[0] = (price_per_1k_input_tokens or 0.0, price_per_1k_output_tokens or 0.0)
    else:
        _default_price[0] = None
    if "Completions" not in _originals:
        _originals["Completions"] = Completions.create
        Completions.create = _wrap_sync(Completions.create)
    if "AsyncCompletions" not in _originals:
        _originals["AsyncCompletions"] = AsyncCompletions.create
        AsyncCompletions.create = _wrap_async(AsyncCompletions.create)


def _begin(kwargs: dict[str, Any]) -> Any:
    from labkeep.genai.tracing.fluent import start_span

    ctx = start_span("ChatCompletion", span_type="CHAT_MODEL")
    span = ctx.__enter__()
    span.set_inputs({k: v for k, v in kwargs.items() if k not in ("extra_headers", "extra_body", "timeout")})
    model = kwargs.get("model")
    if model:
        span.set_attribute("mlflow.llm.model", model)
    params = {k: kwargs[k] for k in _PARAMS if k in kwargs}
    if params:
        span.set_attribute("llm.params", params)
    span.set_attribute("mlflow.llm.provider", "openai")
    return ctx, span


def _end(ctx: Any, span: Any, kwargs: dict[str, Any], response: Any, exc: BaseException | None) -> None:
    try:
        if exc is None and span is not None and hasattr(span, "set_outputs"):
            data = response.model_dump() if hasattr(response, "model_dump") else response
            span.set_outputs(data)
            usage = data.get("usage") if isinstance(data, dict) else None
            if usage and usage.get("prompt_tokens") is not None:
                inp, out = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
                span.set_token_usage(inp, out)
                price = _prices.get(
                    str(kwargs.get("model") or (data.get("model") if isinstance(data, dict) else ""))
                )
                price = price or _default_price[0]
                if price is not None:
                    span.set_cost(inp / 1000.0 * price[0], out / 1000.0 * price[1])
    except Exception as err:  # never break the user's call
        log.debug("openai autolog could not record the response: %s", err)
    if exc is not None:
        ctx.__exit__(type(exc), exc, exc.__traceback__)
    else:
        ctx.__exit__(None, None, None)


def _wrap_sync(orig: Any) -> Any:
    @functools.wraps(orig)
    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        ctx, span = _begin(kwargs)
        try:
            response = orig(self, *args, **kwargs)
        except BaseException as exc:
            _end(ctx, span, kwargs, None, exc)
            raise
        _end(ctx, span, kwargs, response, None)
        return response

    return create


def _wrap_async(orig: Any) -> Any:
    @functools.wraps(orig)
    async def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        ctx, span = _begin(kwargs)
        try:
            response = await orig(self, *args, **kwargs)
        except BaseException as exc:
            _end(ctx, span, kwargs, None, exc)
            raise
        _end(ctx, span, kwargs, response, None)
        return response

    return create
