"""LangChain integration (extra ``labkeep[langchain]``): tracing and the ``langchain`` flavor.

* ``autolog()`` traces every chain, LLM/chat model, retriever and tool call through LangChain's
  callback system (``LabkeepCallbackHandler`` can also be passed by hand).
* ``log_model(lc_model="chain.py", name=...)`` logs a chain as code (the file calls
  ``labkeep.models.set_model(chain)``); ``load_model`` and pyfunc ``predict`` bring it back.

The MLmodel layout is mlflow's ``langchain`` flavor for models from code.
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported eagerly (it is light) so the name ``autolog`` is the function, not its submodule.
from labkeep.langchain.autolog import autolog

_NAMES = {
    "LabkeepCallbackHandler": "labkeep.langchain.callback:LabkeepCallbackHandler",
    "save_model": "labkeep.langchain.model:save_model",
    "log_model": "labkeep.langchain.model:log_model",
    "load_model": "labkeep.langchain.model:load_model",
    "_load_pyfunc": "labkeep.langchain.model:_load_pyfunc",
}
FLAVOR_NAME = "langchain"


def __getattr__(name: str) -> Any:
    target = _NAMES.get(name)
    if target is None:
        raise AttributeError(f"module 'labkeep.langchain' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


__all__ = ["FLAVOR_NAME", "autolog", *sorted(n for n in _NAMES if not n.startswith("_"))]
