"""``log_model``: MLflow 3's flow (create the logged model, upload its files, finalize it, link the run's metrics).

Create a logged model in the run's (or current) experiment, link it as a run output, copy the
run's step-0 metrics onto it, upload the saved directory to the model's artifact location,
finalize it READY, then register it when ``registered_model_name`` is given. With no active run
no run is created.
"""

from __future__ import annotations

import inspect
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.models.info import ModelInfo
from labkeep.models.mlmodel import Model

_log = logging.getLogger(__name__)


def _model_name(name: str | None, artifact_path: str | None) -> str:
    if name and artifact_path and name != artifact_path:
        raise InvalidParameterValue(
            "Pass only one of name= and artifact_path= (artifact_path is the older spelling)."
        )
    final = name or artifact_path or "model"
    if "/" in final or ":" in final or final in (".", ".."):
        raise InvalidParameterValue(f"Invalid model name {final!r}: it may not contain '/' or ':'.")
    return final


def _context_tags() -> dict[str, str]:
    try:
        from labkeep.context import run_context_tags

        tags, _diff = run_context_tags()
        return {k: v for k, v in tags.items() if k.startswith(("mlflow.user", "mlflow.source."))}
    except Exception:  # context tags are best effort
        return {}


def _link_step_metrics(client: Any, run: Any, model_id: str, step: int) -> None:
    """Link the run's points at ``step`` to ``model_id`` (the store keeps each point once in the
    run's history and records the link apart), so they show on the logged model."""
    from labkeep.entities import Metric

    metrics = []
    for key in run.data.metrics or {}:
        for m in client.get_metric_history(run.info.run_id, key):
            if m.step == step and m.model_id is None:
                metrics.append(
                    Metric(m.key, m.value, m.timestamp, step, model_id, m.dataset_name, m.dataset_digest)
                )
    if metrics:
        client.log_batch(run.info.run_id, metrics=metrics)


def log_model(
    save_fn: Callable[..., Model],
    save_kwargs: dict[str, Any],
    *,
    name: str | None = None,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    params: dict | None = None,
    tags: dict | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    await_registration_for: int = 300,
) -> ModelInfo:
    """Save with ``save_fn(path=..., mlflow_model=..., **save_kwargs)`` and log it as a logged model."""
    from labkeep import fluent
    from labkeep.entities import LoggedModelOutput, LoggedModelStatus

    name = _model_name(name, artifact_path)
    client = fluent._client()
    active = fluent.active_run()
    run = client.get_run(active.info.run_id) if active is not None else None
    run_id = run.info.run_id if run is not None else None
    if model_id is not None:
        logged = client.get_logged_model(model_id)
    else:
        experiment_id = run.info.experiment_id if run is not None else fluent._get_experiment_id()
        model_params = dict(run.data.params) if run is not None else {}
        model_params.update({k: str(v) for k, v in (params or {}).items()})
        model_tags = {**_context_tags(), **{k: str(v) for k, v in (tags or {}).items()}}
        logged = client.create_logged_model(
            experiment_id, name, run_id, model_tags, model_params or None, model_type
        )
    if run_id is not None:
        client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step)])
        _link_step_metrics(client, run, logged.model_id, step)
    meta = Model(artifact_path=logged.artifact_location, run_id=run_id, model_id=logged.model_id)
    try:
        with tempfile.TemporaryDirectory(prefix="labkeep-log-model-") as tmp:
            local = os.path.join(tmp, name)
            meta = save_fn(path=local, mlflow_model=meta, **save_kwargs)
            client.log_model_artifacts(logged.model_id, local)
    except BaseException:
        try:
            client.finalize_logged_model(logged.model_id, LoggedModelStatus.UPLOAD_FAILED)
        except Exception:  # keep the original error
            _log.debug("could not mark logged model %s FAILED", logged.model_id, exc_info=True)
        raise
    client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    model_uri = f"models:/{logged.model_id}"
    version = None
    if registered_model_name:
        from labkeep.registry.client import register_model

        mv = register_model(model_uri, registered_model_name, await_registration_for=await_registration_for)
        version = int(mv.version)
    return ModelInfo.from_model(meta, model_uri, name=name, registered_model_version=version)


# ``log_model`` arguments that shape the logged model, not the saved directory.
LOG_ARGS = ("name", "artifact_path", "registered_model_name", "params", "tags", "model_type", "step",
            "model_id", "await_registration_for")  # fmt: skip


def log_flavor_model(save_fn: Callable[..., Model], args: Mapping[str, Any]) -> ModelInfo:
    """A flavor's ``log_model``: ``args`` (its ``locals()``) split between ``save_fn`` and ``log_model``.

    Every argument ``save_fn`` names (but ``path`` and ``mlflow_model``, which the logging flow
    fills in) goes to the save; ``LOG_ARGS`` go to the logging flow; anything else (the
    ``**kwargs`` mlflow's signatures accept) is ignored.
    """
    saved = [
        p.name
        for p in inspect.signature(save_fn).parameters.values()
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name not in ("path", "mlflow_model")
    ]
    save_kwargs = {k: args[k] for k in saved if k in args}
    return log_model(save_fn, save_kwargs, **{k: args[k] for k in LOG_ARGS if k in args})
