"""``labkeep.xgboost.autolog()``: ``xgboost.train`` and the scikit-learn API's ``fit`` log a run.

Logged (mlflow's keys): the booster params and ``train``'s arguments, ``<eval>-<metric>`` per
iteration (step = iteration), ``stopped_iteration``/``best_iteration`` and the best iteration's
metrics (at one step past the last) with early stopping, ``feature_importance_<type>.json`` and
``.png``, the training dataset, and the model (``model``, native format, with signature).
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

FLAVOR = "xgboost"
_UNLOGGED = {"params", "dtrain", "evals", "obj", "feval", "evals_result", "xgb_model", "callbacks",
             "learning_rates"}  # fmt: skip


def autolog(
    importance_types: list[str] | None = None,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    model_format: str = "ubj",
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Log XGBoost training: params, per-iteration metrics, feature importance, dataset and model."""
    options = dict(locals())
    options["importance_types"] = importance_types or ["weight"]
    enable(FLAVOR, options, _install)


def _install(xgboost: Any) -> None:
    import xgboost.sklearn

    safe_patch_function(FLAVOR, xgboost, "train", _patched_train)
    safe_patch_function(FLAVOR, xgboost.sklearn, "train", _patched_train)
    safe_patch(FLAVOR, xgboost.DMatrix, "__init__", _patched_dmatrix_init)
    for cls in _sklearn_classes(xgboost):
        if "fit" in cls.__dict__:
            safe_patch(FLAVOR, cls, "fit", _patched_fit)


def _sklearn_classes(xgboost: Any) -> list[type]:
    base = xgboost.XGBModel
    seen, todo = [base], [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen and sub.__module__.startswith("xgboost"):
                seen.append(sub)
                todo.append(sub)
    return seen


def _patched_dmatrix_init(call: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    """Keep the first rows of the training data (input example, signature, dataset digest)."""
    from copy import deepcopy

    from labkeep.autologging.logging_utils import INPUT_EXAMPLE_ROWS, _head

    data = args[0] if args else kwargs.get("data")
    label = args[1] if len(args) > 1 else kwargs.get("label")
    result = call(*args, **kwargs)
    if data is not None and not isinstance(data, (str, bytes)):
        try:
            self._labkeep_head = deepcopy(_head(data, INPUT_EXAMPLE_ROWS))
            self._labkeep_data = (data, label)
        except Exception:  # sparse or exotic inputs: no example, training goes on
            pass
    return result


def _train_fn() -> Any:
    import xgboost.training

    return xgboost.training.train


def _patched_train(call: Any, *args: Any, **kwargs: Any) -> Any:
    import xgboost

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
    fn = _train_fn()
    # sklearn-API fits call xgboost.sklearn.train; their fit logs the model itself
    from_sklearn = _in_fit()
    with training_run(FLAVOR, conf) as run:
        run_id = run.info.run_id
        booster_params = dict(arg(fn, args, kwargs, "params") or {})
        call_params = fn_params(fn, args, kwargs, _UNLOGGED)
        log_params(run_id, {**booster_params, **call_params})
        dtrain = arg(fn, args, kwargs, "dtrain")
        if conf["log_datasets"] and not from_sklearn and hasattr(dtrain, "_labkeep_data"):
            log_dataset(*dtrain._labkeep_data)
        buffer = MetricBuffer(run_id)

        class _Callback(xgboost.callback.TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
                values = {f"{data}-{metric}": hist[-1] for data, ms in evals_log.items() for metric, hist in ms.items()}
                if values:
                    buffer.add(epoch, {k: v[0] if isinstance(v, tuple) else v for k, v in values.items()})
                return False

        args, kwargs = with_callback(fn, args, kwargs, _Callback())
        try:
            model = call(*args, **kwargs)
        finally:
            buffer.flush()
        if arg(fn, args, kwargs, "early_stopping_rounds") and buffer.history:
            from labkeep import fluent

            last = len(buffer.history)
            fluent.log_metrics({"stopped_iteration": last - 1, "best_iteration": model.best_iteration}, run_id=run_id)
            if 0 <= model.best_iteration < last:
                fluent.log_metrics(buffer.history[model.best_iteration], step=last, run_id=run_id)
        if conf["log_models"] and not from_sklearn:
            from labkeep.xgboost import log_model

            head = getattr(dtrain, "_labkeep_head", None)
            example, signature = (
                example_and_signature(conf, head, lambda d: model.predict(xgboost.DMatrix(d)))
                if head is not None
                else (None, None)
            )
            log_model(model, name="model", signature=signature, input_example=example,
                      model_format=conf.get("model_format", "ubj"),
                      registered_model_name=conf.get("registered_model_name"), params=call_params)  # fmt: skip
        for imp_type in conf.get("importance_types") or ["weight"]:
            try:
                log_importance(run_id, model.get_score(importance_type=imp_type), imp_type)
            except Exception as e:
                from labkeep.autologging.config import warn_once

                warn_once(FLAVOR, f"labkeep autologging: feature importance ({imp_type}) failed: {e!r}")
    return model


def _log_fitted(est: Any, conf: dict, **kwargs: Any) -> Any:
    from labkeep.xgboost import log_model

    return log_model(est, name="model", model_format=conf.get("model_format", "ubj"),
                     registered_model_name=conf.get("registered_model_name"), **kwargs)  # fmt: skip


_patched_fit = SklearnApiFit(FLAVOR, _log_fitted)


def _in_fit() -> bool:
    return _patched_fit.inside()
