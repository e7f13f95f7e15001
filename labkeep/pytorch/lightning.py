"""The Lightning callback behind ``labkeep.pytorch.autolog()`` and what runs around ``fit``."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import tempfile
from typing import Any

_log = logging.getLogger("labkeep.pytorch")
_EARLY_STOP_PARAMS = ("monitor", "mode", "patience", "min_delta", "stopped_epoch")
LATEST_CHECKPOINT_TAG = "mlflow.latest_checkpoint_artifact"


def _pl_for(trainer: Any) -> Any:
    """The Lightning package the trainer comes from (``lightning.pytorch`` or ``pytorch_lightning``)."""
    root = type(trainer).__module__.split(".")[0]
    return sys.modules["lightning.pytorch" if root == "lightning" else "pytorch_lightning"]


def _floats(items: Any) -> dict[str, float]:
    out = {}
    for name, value in items:
        try:
            f = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isnan(f):
            out[str(name)] = f
    return out


class FitState:
    """What one autologged ``fit`` keeps: the run, its buffer, the callbacks it added."""

    def __init__(self, run_id: str) -> None:
        from labkeep.autologging.boosting import MetricBuffer

        self.run_id = run_id
        self.buffer = MetricBuffer(run_id)
        self.added: list[Any] = []
        self.early_stop: Any = None
        self.example: Any = None  # (input, output) of the first forward call
        self.forward_patched: Any = None

    def detach(self, trainer: Any) -> None:
        self.buffer.flush()
        for cb in self.added:
            if cb in trainer.callbacks:
                trainer.callbacks.remove(cb)
        module = getattr(trainer, "lightning_module", None)
        if module is not None and "forward" in module.__dict__ and self.forward_patched is not None:
            del module.forward


def _make_callback(pl: Any, state: FitState, conf: dict) -> Any:
    every_epoch = max(1, int(conf.get("log_every_n_epoch") or 1))
    every_step = conf.get("log_every_n_step")

    class LabkeepLightningCallback(pl.Callback):
        def __init__(self) -> None:
            self.step_names: set[str] = set()
            self.epoch_names: set[str] = set()

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            from labkeep import fluent
            from labkeep.autologging.boosting import log_params

            fluent._client().set_tag(state.run_id, "Mode", "training")
            params: dict[str, Any] = {"epochs": trainer.max_epochs}
            if trainer.optimizers:
                opt = trainer.optimizers[0]
                inner = getattr(opt, "_optimizer", opt)
                params["optimizer_name"] = type(inner).__name__
                params.update(getattr(inner, "defaults", {}) or {})
            hparams = getattr(pl_module, "hparams", None) or {}
            params.update({k: v for k, v in dict(hparams).items() if k not in params})
            log_params(state.run_id, params)
            if conf.get("log_models") and conf.get("log_model_signatures"):
                _capture_first_forward(pl_module, state)

        def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
            if not every_step or trainer.sanity_checking:
                return
            metrics = trainer.callback_metrics
            items = [(k, v) for k, v in metrics.items() if k not in self.epoch_names and f"{k}_step" not in metrics]
            self.step_names.update(k for k, _ in items)
            step = trainer.global_step
            if step % int(every_step) == 0:
                state.buffer.add(step, _floats(items))

        def _epoch(self, trainer: Any, pl_module: Any) -> None:
            if trainer.sanity_checking:
                return
            items = [(k, v) for k, v in trainer.callback_metrics.items() if k not in self.step_names]
            self.epoch_names.update(k for k, _ in items)
            if (pl_module.current_epoch + 1) % every_epoch == 0:
                state.buffer.add(pl_module.current_epoch, _floats(items))

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            # validation ran inside this epoch already, unless there is none
            if not getattr(trainer, "enable_validation", False) or not trainer.val_dataloaders:
                self._epoch(trainer, pl_module)

        def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if not trainer.sanity_checking:
                self._epoch(trainer, pl_module)

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            state.buffer.flush()

    return LabkeepLightningCallback()


def _capture_first_forward(pl_module: Any, state: FitState) -> None:
    import torch

    original = pl_module.forward

    def forward(*inputs: Any, **kwargs: Any) -> Any:
        result = original(*inputs, **kwargs)
        if state.example is None:
            state.example = False
            if len(inputs) == 1 and isinstance(inputs[0], torch.Tensor) and isinstance(result, torch.Tensor):
                state.example = (inputs[0].detach()[:5].cpu().clone(), result.detach()[:5].cpu().clone())
        return result

    pl_module.forward = forward
    state.forward_patched = forward


def _make_checkpoint_callback(pl: Any, state: FitState, conf: dict) -> Any:
    monitor = conf.get("checkpoint_monitor")
    mode = conf.get("checkpoint_mode", "min")
    best_only = conf.get("checkpoint_save_best_only", True)
    weights_only = conf.get("checkpoint_save_weights_only", False)
    freq = conf.get("checkpoint_save_freq", "epoch")

    class LabkeepCheckpointCallback(pl.Callback):
        def __init__(self) -> None:
            self.best: float | None = None

        def _better(self, value: float) -> bool:
            if self.best is None:
                return True
            return value < self.best if mode == "min" else value > self.best

        def _save(self, trainer: Any) -> None:
            from labkeep import fluent

            metrics = _floats(trainer.callback_metrics.items())
            if best_only:
                if monitor not in metrics:
                    _log.warning("labkeep: checkpoint skipped: monitored metric %r was not logged", monitor)
                    return
                if not self._better(metrics[monitor]):
                    return
                self.best = metrics[monitor]
                prefix, folder = "latest_", "checkpoints"
            else:
                sub = f"epoch_{trainer.current_epoch}" if freq == "epoch" else f"global_step_{trainer.global_step}"
                prefix, folder = "", f"checkpoints/{sub}"
            name = f"{prefix}checkpoint{'.weights' if weights_only else ''}.pth"
            client = fluent._client()
            client.set_tag(state.run_id, LATEST_CHECKPOINT_TAG, f"{folder}/{name}")
            info = {**metrics, "epoch": trainer.current_epoch, "global_step": trainer.global_step}
            client.log_text(state.run_id, json.dumps(info), f"{folder}/{prefix}checkpoint_metrics.json")
            with tempfile.TemporaryDirectory(prefix="labkeep-ckpt-") as tmp:
                path = os.path.join(tmp, name)
                checkpoint = trainer._checkpoint_connector.dump_checkpoint(weights_only)
                trainer.strategy.save_checkpoint(checkpoint, path)
                client.log_artifact(state.run_id, path, folder)

        def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
            if isinstance(freq, int) and freq > 0 and trainer.global_step % freq == 0:
                self._save(trainer)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if freq == "epoch":
                self._save(trainer)

    return LabkeepCheckpointCallback()


def before_fit(trainer: Any, run_id: str, conf: dict) -> FitState:
    """Add labkeep's callbacks to ``trainer`` and log early-stopping settings."""
    from labkeep.autologging.boosting import log_params

    pl = _pl_for(trainer)
    state = FitState(run_id)
    for cb in trainer.callbacks:
        if isinstance(cb, pl.callbacks.EarlyStopping):
            state.early_stop = cb
            log_params(run_id, {p: getattr(cb, p) for p in _EARLY_STOP_PARAMS if hasattr(cb, p)})
    state.added.append(_make_callback(pl, state, conf))
    if conf.get("checkpoint"):
        state.added.append(_make_checkpoint_callback(pl, state, conf))
    trainer.callbacks.extend(state.added)
    return state


def after_fit(trainer: Any, state: FitState, conf: dict) -> None:
    """Early-stopping metrics, the model summary and the trained model."""
    from labkeep import fluent

    client = fluent._client()
    es = state.early_stop
    if es is not None and bool(getattr(es, "stopped_epoch", 0)):
        fluent.log_metrics({"stopped_epoch": es.stopped_epoch,
                            "restored_epoch": es.stopped_epoch - max(1, es.patience),
                            "wait_count": es.wait_count}, run_id=state.run_id)  # fmt: skip
        if hasattr(es, "best_score"):
            fluent.log_metrics({"best_score": float(es.best_score)}, run_id=state.run_id)
    module = trainer.lightning_module
    try:
        from labkeep.pytorch.summary import model_summary

        pl = _pl_for(trainer)
        summary = str(pl.utilities.model_summary.ModelSummary(module, max_depth=-1))
    except Exception:
        summary = model_summary(module)
    client.log_text(state.run_id, summary, "model_summary.txt")
    if conf.get("log_models"):
        from labkeep.models.infer import infer_signature
        from labkeep.pytorch.flavor import log_model

        signature = None
        if state.example:
            try:
                signature = infer_signature(state.example[0].numpy(), state.example[1].numpy())
            except Exception as e:
                _log.warning("labkeep: could not infer the model signature: %s", e)
        log_model(module, name="model", signature=signature, serialization_format="pickle",
                  registered_model_name=conf.get("registered_model_name"))  # fmt: skip
