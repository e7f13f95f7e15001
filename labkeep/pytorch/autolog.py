"""``labkeep.pytorch.autolog()``: PyTorch Lightning ``Trainer.fit`` logs a run.

Logged (mlflow's keys where mlflow logs them): ``epochs``, ``optimizer_name`` and the optimizer's
defaults, the module's ``hparams``, every ``self.log`` metric (per epoch at step = epoch; per step
too with ``log_every_n_step``), early-stopping params (``monitor``, ``patience`` …) and metrics
(``stopped_epoch``, ``restored_epoch``, ``wait_count``), checkpoints under ``checkpoints/``
(best only or every epoch), ``model_summary.txt`` and the trained model (``model``). Works for
both ``lightning.pytorch`` and ``pytorch_lightning``.
"""

from __future__ import annotations

from typing import Any

from labkeep.autologging import enable, get_config, safe_patch, training_run

FLAVOR = "pytorch"


def autolog(
    log_every_n_epoch: int = 1,
    log_every_n_step: int | None = None,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
    checkpoint: bool = True,
    checkpoint_monitor: str | None = "val_loss",
    checkpoint_mode: str = "min",
    checkpoint_save_best_only: bool = True,
    checkpoint_save_weights_only: bool = False,
    checkpoint_save_freq: str | int = "epoch",
    log_model_signatures: bool = True,
) -> None:
    """Log PyTorch Lightning training (see the module docstring for what is logged)."""
    from labkeep.exceptions import InvalidParameterValue

    if checkpoint_mode not in ("min", "max"):
        raise InvalidParameterValue(f"checkpoint_mode must be 'min' or 'max', not {checkpoint_mode!r}.")
    enable(FLAVOR, dict(locals()), _install)


def _install(module: Any) -> None:
    safe_patch(FLAVOR, module.Trainer, "fit", _patched_fit)


def _patched_fit(call: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    from labkeep.pytorch.lightning import after_fit, before_fit

    conf = get_config(FLAVOR)
    with training_run(FLAVOR, conf) as run:
        state = before_fit(self, run.info.run_id, conf)
        try:
            result = call(*args, **kwargs)
        finally:
            state.detach(self)
        after_fit(self, state, conf)
    return result
