"""``LabkeepTrainerCallback``: a ``transformers`` TrainerCallback that logs a Trainer run.

Logged: the training arguments and model config as params (at train start), every ``on_log``
entry as metrics at the global step (loss, learning_rate, grad_norm, eval_* ...), and each
saved checkpoint directory as artifacts under ``checkpoints/<name>``. A run is started when none
is active and ended when training ends.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from transformers import TrainerCallback

log = logging.getLogger("labkeep.transformers")

MAX_PARAM_CHARS = 6000


def _flat_params(args: Any, model: Any) -> dict[str, str]:
    params: dict[str, str] = {}
    try:
        for key, value in args.to_dict().items():
            params[key] = str(value)[:MAX_PARAM_CHARS]
    except Exception as exc:
        log.debug("could not read the training arguments: %s", exc)
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "to_dict"):
        for key, value in config.to_dict().items():
            if isinstance(value, str | int | float | bool) and key not in params:
                params[f"model_config.{key}"] = str(value)[:MAX_PARAM_CHARS]
    return params


class LabkeepTrainerCallback(TrainerCallback):
    """Logs params, per-step metrics and checkpoints of a Trainer run to labkeep."""

    def __init__(self, log_checkpoints: bool = True) -> None:
        self.log_checkpoints = log_checkpoints
        self._run_id: str | None = None
        self._started_run = False

    def _client(self) -> Any:
        from labkeep.client import Client

        return Client()

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        from labkeep import fluent

        active = fluent.active_run()
        if active is None:
            active = fluent.start_run(run_name=os.path.basename(os.path.normpath(args.output_dir)) or None)
            self._started_run = True
        self._run_id = active.info.run_id
        from labkeep.entities import Param

        params = _flat_params(args, model)
        existing = set(self._client().get_run(self._run_id).data.params)
        fresh = [Param(k, v) for k, v in params.items() if k not in existing]
        for i in range(0, len(fresh), 100):
            self._client().log_batch(self._run_id, params=fresh[i : i + 100])

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if self._run_id is None or not state.is_world_process_zero or not logs:
            return
        from labkeep.entities import Metric
        from labkeep.utils.clock import now_ms

        ts = now_ms()
        metrics = [
            Metric(key, float(value), ts, int(state.global_step))
            for key, value in logs.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        ]
        if metrics:
            self._client().log_batch(self._run_id, metrics=metrics)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._run_id is None or not self.log_checkpoints or not state.is_world_process_zero:
            return
        name = f"checkpoint-{state.global_step}"
        local = os.path.join(args.output_dir, name)
        if os.path.isdir(local):
            self._client().log_artifacts(self._run_id, local, f"checkpoints/{name}")

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._run_id is None:
            return
        if self._started_run:
            from labkeep import fluent

            active = fluent.active_run()
            if active is not None and active.info.run_id == self._run_id:
                fluent.end_run()
        self._run_id, self._started_run = None, False
