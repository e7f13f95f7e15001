"""``labkeep.transformers.autolog()``: every ``transformers.Trainer`` logs its run to labkeep.

Patches ``Trainer.__init__`` to add a ``LabkeepTrainerCallback`` (see ``trainer.py``) unless the
trainer already has one; ``autolog(disable=True)`` restores it.
"""

from __future__ import annotations

import functools
from typing import Any

_original: dict[str, Any] = {}
_options: dict[str, Any] = {"log_checkpoints": True}


def autolog(
    disable: bool = False,
    silent: bool = False,
    log_traces: bool = True,
    log_checkpoints: bool = True,
    **_unused: Any,
) -> None:
    """Log ``Trainer`` runs: arguments, per-step loss and learning rate, eval metrics, checkpoints.

    ``log_checkpoints=False`` skips uploading checkpoint directories. ``log_traces`` is accepted for
    the shared autolog signature (Trainer runs make no traces).
    """
    try:
        import transformers
    except ImportError:
        from labkeep.exceptions import LabkeepException

        raise LabkeepException(
            "transformers autolog needs transformers: pip install 'labkeep[transformers]'",
            error_code="INVALID_PARAMETER_VALUE",
        ) from None
    trainer_cls = transformers.Trainer
    if disable:
        orig = _original.pop("init", None)
        if orig is not None:
            trainer_cls.__init__ = orig  # type: ignore[method-assign]  # autolog patches the class on purpose
        return
    _options["log_checkpoints"] = log_checkpoints
    if "init" in _original:
        return
    orig_init = trainer_cls.__init__
    _original["init"] = orig_init

    @functools.wraps(orig_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        orig_init(self, *args, **kwargs)
        from labkeep.transformers.trainer import LabkeepTrainerCallback

        handlers = getattr(self.callback_handler, "callbacks", [])
        if not any(isinstance(cb, LabkeepTrainerCallback) for cb in handlers):
            self.add_callback(LabkeepTrainerCallback(log_checkpoints=_options["log_checkpoints"]))

    trainer_cls.__init__ = __init__  # type: ignore[method-assign]  # autolog patches the class on purpose
