"""Hugging Face Transformers flavor (extra ``labkeep[transformers]``).

* ``save_model`` / ``log_model`` / ``load_model`` of a pipeline or ``{"model", "tokenizer"}`` dict,
  in full or by hub reference (``save_pretrained=False``); PEFT/LoRA models as base reference plus
  adapter weights only. The MLmodel layout is mlflow's ``transformers`` flavor.
* pyfunc predict for text generation, classification, summarization and chat (``messages``).
* ``autolog()`` logs ``Trainer`` runs: arguments, per-step loss and learning rate, evaluation
  metrics and checkpoints.
"""

from __future__ import annotations

# Imported eagerly (it is light) so the name ``autolog`` is the function, not its submodule.
from labkeep.transformers.autolog import autolog
from labkeep.utils.lazy import lazy_attributes, public_names

FLAVOR_NAME = "transformers"
_EXPORTS = {
    "labkeep.transformers.flavor": ("save_model", "log_model", "get_default_pip_requirements"),
    "labkeep.transformers.loading": ("load_model", "_load_pyfunc"),
    "labkeep.transformers.trainer": ("LabkeepTrainerCallback",),
}


__getattr__ = lazy_attributes(__name__, _EXPORTS)

__all__ = ["FLAVOR_NAME", "autolog", *public_names(_EXPORTS)]
