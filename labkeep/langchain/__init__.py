"""LangChain integration (extra ``labkeep[langchain]``): tracing and the ``langchain`` flavor.

* ``autolog()`` traces every chain, LLM/chat model, retriever and tool call through LangChain's
  callback system (``LabkeepCallbackHandler`` can also be passed by hand).
* ``log_model(lc_model="chain.py", name=...)`` logs a chain as code (the file calls
  ``labkeep.models.set_model(chain)``); ``load_model`` and pyfunc ``predict`` bring it back.

The MLmodel layout is mlflow's ``langchain`` flavor for models from code.
"""

from __future__ import annotations

# Imported eagerly (it is light) so the name ``autolog`` is the function, not its submodule.
from labkeep.langchain.autolog import autolog
from labkeep.utils.lazy import lazy_attributes, public_names

_EXPORTS = {
    "labkeep.langchain.callback": ("LabkeepCallbackHandler",),
    "labkeep.langchain.model": ("save_model", "log_model", "load_model", "_load_pyfunc"),
}
FLAVOR_NAME = "langchain"


__getattr__ = lazy_attributes(__name__, _EXPORTS)

__all__ = ["FLAVOR_NAME", "autolog", *public_names(_EXPORTS)]
