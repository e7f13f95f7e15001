"""PyTorch flavor (extras ``labkeep[pytorch]``, ``labkeep[lightning]``).

* ``save_model`` / ``log_model`` / ``load_model`` of a whole ``torch.nn.Module`` (``torch.export``
  or cloudpickle, with ``code_paths``), ``save_state_dict`` / ``log_state_dict`` /
  ``load_state_dict``; pyfunc predict on DataFrames, arrays and tensors. mlflow's layout.
* ``autolog()`` logs PyTorch Lightning ``Trainer.fit``: hyperparameters, every ``self.log``
  metric with its step and epoch, checkpoints, early stopping, model summary and the model.
* ``log_model_summary(model)`` for a plain training loop.
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported eagerly (it is light) so the name ``autolog`` is the function, not its submodule.
from labkeep.pytorch.autolog import autolog

FLAVOR_NAME = "pytorch"
_NAMES = {
    "save_model": "labkeep.pytorch.flavor:save_model",
    "log_model": "labkeep.pytorch.flavor:log_model",
    "load_model": "labkeep.pytorch.flavor:load_model",
    "save_state_dict": "labkeep.pytorch.flavor:save_state_dict",
    "log_state_dict": "labkeep.pytorch.flavor:log_state_dict",
    "load_state_dict": "labkeep.pytorch.flavor:load_state_dict",
    "get_default_pip_requirements": "labkeep.pytorch.flavor:get_default_pip_requirements",
    "log_model_summary": "labkeep.pytorch.summary:log_model_summary",
    "model_summary": "labkeep.pytorch.summary:model_summary",
    "_load_pyfunc": "labkeep.pytorch.flavor:_load_pyfunc",
}


def __getattr__(name: str) -> Any:
    target = _NAMES.get(name)
    if target is None:
        raise AttributeError(f"module 'labkeep.pytorch' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


__all__ = ["FLAVOR_NAME", "autolog", *sorted(n for n in _NAMES if not n.startswith("_"))]
