"""``labkeep.langchain.autolog()``: trace every LangChain run through LangChain's callback system.

A configure hook (``langchain_core.tracers.context.register_configure_hook``) adds one shared
``LabkeepCallbackHandler`` to every callback manager LangChain builds, so every ``invoke``,
``batch``, ``stream`` and their async forms are traced without passing callbacks by hand.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("labkeep.langchain")


class _GlobalHandler:
    """Stands in for the ContextVar LangChain's hook reads: the same handler in every context."""

    def __init__(self) -> None:
        self.handler: Any = None

    def get(self) -> Any:
        return self.handler


_hook = _GlobalHandler()
_registered = [False]


def autolog(disable: bool = False, silent: bool = False, log_traces: bool = True, **_unused: Any) -> None:
    """Turn LangChain tracing on (``disable=True`` or ``log_traces=False`` turns it off).

    Each chain, LLM/chat model, retriever and tool call becomes a span of one trace, with its
    inputs, outputs, token usage and errors. ``silent`` hides labkeep's own log messages.
    """
    try:
        from langchain_core.tracers.context import register_configure_hook
    except ImportError:
        from labkeep.exceptions import LabkeepException

        raise LabkeepException(
            "LangChain autolog needs langchain-core: pip install 'labkeep[langchain]'",
            error_code="INVALID_PARAMETER_VALUE",
        ) from None
    from labkeep.langchain.callback import LabkeepCallbackHandler

    if not _registered[0]:
        register_configure_hook(_hook, inheritable=True)  # type: ignore[arg-type]
        _registered[0] = True
    if disable or not log_traces:
        _hook.handler = None
        return
    if _hook.handler is None:
        _hook.handler = LabkeepCallbackHandler()
    if not silent:
        log.info("labkeep: LangChain runs are traced")


def active_handler() -> Any:
    """The handler autolog installed, or None when autolog is off."""
    return _hook.handler
