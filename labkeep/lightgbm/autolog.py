"""``labkeep.lightgbm.autolog()``: ``lightgbm.train`` and the scikit-learn API's ``fit`` log a run.

Logged (mlflow's keys): the booster params and ``train``'s arguments, ``<valid>-<metric>`` per
iteration, ``stopped_iteration``/``best_iteration`` and the best iteration's metrics when
training stopped early, ``feature_importance_split``/``_gain`` (JSON and PNG), the training
dataset and the model (``model``, LightGBM's text format for Boosters, with signature).
"""

from __future__ import annotations

from typing import Any

from labkeep.autologging import enable
from labkeep.autologging.boosting import BoosterTrain, MetricBuffer, SklearnApiFit, install

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
    install(FLAVOR, lightgbm, lightgbm.LGBMModel, _patched_train, _patched_fit)


def _log_fitted(est: Any, conf: dict, **kwargs: Any) -> Any:
    from labkeep.lightgbm import log_model

    return log_model(est, name="model", registered_model_name=conf.get("registered_model_name"),
                     serialization_format="cloudpickle", **kwargs)  # fmt: skip


class _Train(BoosterTrain):
    def callback(self, buffer: MetricBuffer) -> Any:
        def callback(env: Any) -> None:
            values = {f"{r[0]}-{r[1]}": r[2] for r in env.evaluation_result_list or []}
            if values:
                buffer.add(env.iteration, values)

        return callback

    def dataset(self, train_set: Any) -> tuple[Any, Any] | None:
        data = getattr(train_set, "data", None)
        if data is None or isinstance(data, str):  # a file name: nothing to log or sample
            return None
        return data, getattr(train_set, "label", None)

    def example(self, train_set: Any, model: Any) -> tuple[Any, Any] | None:
        data = self.dataset(train_set)
        return (data[0], model.predict) if data is not None else None

    def early_stopping(self, model: Any, iterations: int, rounds: Any) -> tuple[int, int] | None:
        # LightGBM counts iterations from 1 and leaves best_iteration at 0 without early stopping
        return (iterations, model.best_iteration - 1) if model.best_iteration > 0 else None

    def importance_types(self, conf: dict[str, Any]) -> list[str]:
        return ["split", "gain"]

    def importance(self, model: Any, importance_type: str) -> dict[str, float]:
        values = model.feature_importance(importance_type=importance_type)
        return {f: float(v) for f, v in zip(model.feature_name(), values, strict=False)}

    def log_model(self, model: Any, conf: dict[str, Any], **kwargs: Any) -> Any:
        """A Booster keeps the default serialization_format (``fit``'s cloudpickle is for estimators)."""
        from labkeep.lightgbm import log_model

        return log_model(model, name="model", registered_model_name=conf.get("registered_model_name"), **kwargs)


_patched_fit = SklearnApiFit(FLAVOR, _log_fitted)
_patched_train = _Train(_patched_fit, "lightgbm.engine", "train_set", _UNLOGGED)
