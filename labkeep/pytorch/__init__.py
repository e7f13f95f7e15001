"""PyTorch flavor (extras ``labkeep[pytorch]``, ``labkeep[lightning]``).

* ``save_model`` / ``log_model`` / ``load_model`` of a whole ``torch.nn.Module`` (``torch.export``
  or cloudpickle, with ``code_paths``), ``save_state_dict`` / ``log_state_dict`` /
  ``load_state_dict``; pyfunc predict on DataFrames, arrays and tensors. mlflow's layout.
* ``autolog()`` logs PyTorch Lightning ``Trainer.fit``: hyperparameters, every ``self.log``
  metric with its step and epoch, checkpoints, early stopping, model summary and the model.
* ``log_model_summary(model)`` for a plain training loop.
"""

from __future__ import annotations

# Imported eagerly (it is light) so the name ``autolog`` is the function, not its submodule.
from labkeep.pytorch.autolog import autolog
from labkeep.utils.lazy import lazy_attributes, public_names

FLAVOR_NAME = "pytorch"
_EXPORTS = {
    "labkeep.pytorch.flavor": ("save_model", "log_model", "load_model", "save_state_dict", "log_state_dict",
                               "load_state_dict", "get_default_pip_requirements", "_load_pyfunc"),  # fmt: skip
    "labkeep.pytorch.summary": ("log_model_summary", "model_summary"),
}


__getattr__ = lazy_attributes(__name__, _EXPORTS)

__all__ = ["FLAVOR_NAME", "autolog", *public_names(_EXPORTS)]
