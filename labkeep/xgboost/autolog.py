"""``labkeep.xgboost.autolog()``: ``xgboost.train`` and the scikit-learn API's ``fit`` log a run.

Logged (mlflow's keys): the booster params and ``train``'s arguments, ``<eval>-<metric>`` per
iteration (step = iteration), ``stopped_iteration``/``best_iteration`` and the best iteration's
metrics (at one step past the last) with early stopping, ``feature_importance_<type>.json`` and
``.png``, the training dataset, and the model (``model``, native format, with signature).
"""

from __future__ import annotations

from typing import Any

from labkeep.autologging import enable, safe_patch
from labkeep.autologging.boosting import BoosterTrain, MetricBuffer, SklearnApiFit, install

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
    install(FLAVOR, xgboost, xgboost.XGBModel, _patched_train, _patched_fit)
    safe_patch(FLAVOR, xgboost.DMatrix, "__init__", _patched_dmatrix_init)


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


def _log_fitted(est: Any, conf: dict, **kwargs: Any) -> Any:
    from labkeep.xgboost import log_model

    return log_model(est, name="model", model_format=conf.get("model_format", "ubj"),
                     registered_model_name=conf.get("registered_model_name"), **kwargs)  # fmt: skip


class _Train(BoosterTrain):
    def callback(self, buffer: MetricBuffer) -> Any:
        import xgboost

        class _Callback(xgboost.callback.TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
                values = {f"{data}-{metric}": hist[-1] for data, ms in evals_log.items() for metric, hist in ms.items()}
                if values:
                    buffer.add(epoch, {k: v[0] if isinstance(v, tuple) else v for k, v in values.items()})
                return False

        return _Callback()

    def dataset(self, train_set: Any) -> tuple[Any, Any] | None:
        return getattr(train_set, "_labkeep_data", None)  # kept by the patched DMatrix.__init__

    def example(self, train_set: Any, model: Any) -> tuple[Any, Any] | None:
        import xgboost

        head = getattr(train_set, "_labkeep_head", None)
        return (head, lambda d: model.predict(xgboost.DMatrix(d))) if head is not None else None

    def early_stopping(self, model: Any, iterations: int, rounds: Any) -> tuple[int, int] | None:
        # XGBoost counts iterations from 0
        return (iterations - 1, model.best_iteration) if rounds else None

    def importance_types(self, conf: dict[str, Any]) -> list[str]:
        return conf.get("importance_types") or ["weight"]

    def importance(self, model: Any, importance_type: str) -> dict[str, float]:
        return model.get_score(importance_type=importance_type)


_patched_fit = SklearnApiFit(FLAVOR, _log_fitted)
_patched_train = _Train(_patched_fit, "xgboost.training", "dtrain", _UNLOGGED)
