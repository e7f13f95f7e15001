"""``labkeep.lightgbm.autolog()``: ``lightgbm.train`` and the scikit-learn API's ``fit`` log a run.

Logged (mlflow's keys): the booster params and ``train``'s arguments, ``<valid>-<metric>`` per
iteration, ``stopped_iteration``/``best_iteration`` and the best iteration's metrics when
training stopped early, ``feature_importance_split``/``_gain`` (JSON and PNG), the training
dataset and the model (``model``, LightGBM's text format for Boosters, with signature).
"""

from __future__ import annotations

from typing import Any

from labkeep.autologging import (
    enable,
    get_config,
    safe_patch,
    safe_patch_function,
    training_run,
)
from labkeep.autologging.boosting import SklearnApiFit

FLAVOR = "lightgbm"
_UNLOGGED = {"params", "train_set", "valid_sets", "valid_names", "fobj", "feval", "init_model",
             "learning_rates", "callbacks"}  # fmt: skip


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Log LightGBM training: params, per-iteration metrics, feature importance, dataset and model."""
    enable(FLAVOR, dict(locals()), _install)


def _install(lightgbm: Any) -> None:
    import lightgbm.sklearn

    safe_patch_function(FLAVOR, lightgbm, "train", _patched_train)
    safe_patch_function(FLAVOR, lightgbm.sklearn, "train", _patched_train)
    for cls in (lightgbm.LGBMModel, *_subclasses(lightgbm.LGBMModel)):
        if "fit" in cls.__dict__:
            safe_patch(FLAVOR, cls, "fit", _patched_fit)


def _subclasses(base: type) -> list[type]:
    out: list[type] = []
    todo: list[type] = [base]
    sub: type
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in out and sub.__module__.startswith("lightgbm"):
                out.append(sub)
                todo.append(sub)
    return out


def _patched_train(call: Any, *args: Any, **kwargs: Any) -> Any:
    import lightgbm.engine

    from labkeep.autologging.boosting import (
        MetricBuffer,
        arg,
        fn_params,
        log_importance,
        log_params,
        with_callback,
    )
    from labkeep.autologging.logging_utils import example_and_signature, log_dataset

    conf = get_config(FLAVOR)
    fn = lightgbm.engine.train
    from_sklearn = _patched_fit.inside()
    with training_run(FLAVOR, conf) as run:
        run_id = run.info.run_id
        call_params = fn_params(fn, args, kwargs, _UNLOGGED)
        log_params(run_id, {**dict(arg(fn, args, kwargs, "params") or {}), **call_params})
        train_set = arg(fn, args, kwargs, "train_set")
        data = getattr(train_set, "data", None)
        if conf["log_datasets"] and not from_sklearn and data is not None and not isinstance(data, str):
            log_dataset(data, getattr(train_set, "label", None))
        buffer = MetricBuffer(run_id)

        def callback(env: Any) -> None:
            values = {f"{r[0]}-{r[1]}": r[2] for r in env.evaluation_result_list or []}
            if values:
                buffer.add(env.iteration, values)

        args, kwargs = with_callback(fn, args, kwargs, callback)
        try:
            model = call(*args, **kwargs)
        finally:
            buffer.flush()
        if model.best_iteration > 0 and buffer.history:
            from labkeep import fluent

            last = len(buffer.history)
            fluent.log_metrics({"stopped_iteration": last, "best_iteration": model.best_iteration}, run_id=run_id)
            if model.best_iteration <= last:
                fluent.log_metrics(buffer.history[model.best_iteration - 1], step=last, run_id=run_id)
        if conf["log_models"] and not from_sklearn:
            from labkeep.lightgbm import log_model

            example, signature = (
                example_and_signature(conf, data, model.predict)
                if data is not None and not isinstance(data, str)
                else (None, None)
            )
            log_model(model, name="model", signature=signature, input_example=example,
                      registered_model_name=conf.get("registered_model_name"), params=call_params)  # fmt: skip
        features = model.feature_name()
        for imp_type in ("split", "gain"):
            try:
                values = model.feature_importance(importance_type=imp_type)
                log_importance(run_id, {f: float(v) for f, v in zip(features, values, strict=False)}, imp_type)
            except Exception as e:
                from labkeep.autologging.config import warn_once

                warn_once(FLAVOR, f"labkeep autologging: feature importance ({imp_type}) failed: {e!r}")
    return model


def _log_fitted(est: Any, conf: dict, **kwargs: Any) -> Any:
    from labkeep.lightgbm import log_model

    return log_model(est, name="model", registered_model_name=conf.get("registered_model_name"),
                     serialization_format="cloudpickle", **kwargs)  # fmt: skip


_patched_fit = SklearnApiFit(FLAVOR, _log_fitted)
