"""Hugging Face Transformers flavor (extra ``labkeep[transformers]``).

* ``save_model`` / ``log_model`` / ``load_model`` of a pipeline or ``{"model", "tokenizer"}`` dict,
  in full or by hub reference (``save_pretrained=False``); PEFT/LoRA models as base reference plus
  adapter weights only. The MLmodel layout is mlflow's ``transformers`` flavor.
* pyfunc predict for text generation, classification, summarization and chat (``messages``).
* ``autolog()`` logs ``Trainer`` runs: arguments, per-step loss and learning rate, evaluation
  metrics and checkpoints.
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported eagerly (it is light) so the name ``autolog`` is the function, not its submodule.
from labkeep.transformers.autolog import autolog

FLAVOR_NAME = "transformers"
_NAMES = {
    "save_model": "labkeep.transformers.flavor:save_model",
    "log_model": "labkeep.transformers.flavor:log_model",
    "load_model": "labkeep.transformers.loading:load_model",
    "get_default_pip_requirements": "labkeep.transformers.flavor:get_default_pip_requirements",
    "_load_pyfunc": "labkeep.transformers.loading:_load_pyfunc",
    "LabkeepTrainerCallback": "labkeep.transformers.trainer:LabkeepTrainerCallback",
}


def __getattr__(name: str) -> Any:
    target = _NAMES.get(name)
    if target is None:
        raise AttributeError(f"module 'labkeep.transformers' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


__all__ = ["FLAVOR_NAME", "autolog", *sorted(n for n in _NAMES if not n.startswith("_"))]
