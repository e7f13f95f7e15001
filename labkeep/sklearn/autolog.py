"""``labkeep.sklearn.autolog()``: every scikit-learn ``fit`` logs params, metrics, model and data.

Per fit (reusing the active run, or in a new one ended afterwards): ``get_params(deep=True)``,
tags ``estimator_name``/``estimator_class``, the training set as a dataset input, the fitted
model (``model``, cloudpickle by default, with signature), ``training_*`` metrics,
``estimator.html`` and the classifier plots. Parameter searches also log ``best_*`` params,
``best_cv_score``, the ``best_estimator`` model, ``cv_results.csv`` and one child run per
candidate (the ``max_tuning_runs`` best). Inner fits (pipeline steps, search candidates) log
nothing of their own. See ``post_training.py`` for metrics computed after training.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from labkeep.autologging import enable, get_config, revert_patches, safe_patch, training_run

FLAVOR = "sklearn"
_log = logging.getLogger("labkeep.sklearn")
_FIT_METHODS = ("fit", "fit_transform", "fit_predict")


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = 5,
    log_post_training_metrics: bool = True,
    serialization_format: str = "cloudpickle",
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Log every scikit-learn estimator's ``fit`` (see the module docstring for what is logged)."""
    from labkeep.exceptions import InvalidParameterValue

    if max_tuning_runs is not None and max_tuning_runs < 0:
        raise InvalidParameterValue(f"max_tuning_runs must be non-negative, got {max_tuning_runs}.")
    options = dict(locals())
    if disable:
        _unpatch_metrics()
    enable(FLAVOR, options, _install)


def _unpatch_metrics() -> None:
    import sys

    if "sklearn.metrics" in sys.modules:
        from labkeep.sklearn.post_training import unpatch_metric_functions

        unpatch_metric_functions()


def _estimator_classes() -> list[type]:
    import warnings

    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classes = [cls for _name, cls in all_estimators()]
    return [*classes, GridSearchCV, RandomizedSearchCV, Pipeline]


def _install(_module: Any) -> None:
    from labkeep.sklearn.post_training import PREDICT_METHODS, patch_metric_functions

    revert_patches(FLAVOR)
    targets: dict[tuple[type, str], Any] = {}
    for cls in _estimator_classes():
        for names, patch in ((_FIT_METHODS, _patched_fit), (PREDICT_METHODS, _patched_predict),
                             (("score",), _patched_score)):  # fmt: skip
            for name in names:
                owner = _defining_class(cls, name)
                if owner is not None:
                    targets[(owner, name)] = patch
    for (owner, name), patch in targets.items():
        safe_patch(FLAVOR, owner, name, patch)
    patch_metric_functions()


def _defining_class(cls: type, name: str) -> type | None:
    """The class in ``cls``'s MRO whose own namespace defines ``name`` (a scikit-learn class)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass if klass.__module__.startswith("sklearn.") else None
    return None


def _patched_predict(call: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    from labkeep.sklearn.post_training import after_predict, busy

    with busy():
        result = call(*args, **kwargs)
    if get_config(FLAVOR).get("log_post_training_metrics", True):
        data = args[0] if args else next(iter(kwargs.values()), None)
        after_predict(self, data, result)
    return result


def _patched_score(call: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    from labkeep.sklearn.post_training import after_score, busy

    with busy():
        result = call(*args, **kwargs)
    if get_config(FLAVOR).get("log_post_training_metrics", True):
        data = args[0] if args else kwargs.get("X")
        after_score(self, data, result, args, kwargs)
    return result


def _x_y_weight(fit: Any, args: tuple, kwargs: dict) -> tuple[Any, Any, Any]:
    try:
        bound = inspect.signature(fit).bind_partial(*args, **kwargs).arguments
    except TypeError:
        return (args[0] if args else None), (args[1] if len(args) > 1 else None), None
    names = list(bound)
    X = bound[names[0]] if names else None
    y = bound.get("y", bound[names[1]] if len(names) > 1 and names[1] not in ("sample_weight",) else None)
    weight = bound.get("sample_weight")
    if weight is None:
        for extra in ("fit_params", "kwargs", "params"):
            if isinstance(bound.get(extra), dict):
                weight = bound[extra].get("sample_weight", weight)
    return X, y, weight


def is_search(est: Any) -> bool:
    return hasattr(est, "param_distributions") or hasattr(est, "param_grid")


def _params(est: Any) -> dict[str, Any]:
    return est.get_params(deep=not is_search(est))


def _patched_fit(call: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    from labkeep import fluent
    from labkeep.autologging.logging_utils import log_dataset
    from labkeep.entities import Param, RunTag
    from labkeep.utils.validation import MAX_PARAM_VAL_LENGTH

    conf = get_config(FLAVOR)
    X, y, weight = _x_y_weight(getattr(self, call.fn.__name__, self.fit), args, kwargs)
    with training_run(FLAVOR, conf) as run:
        run_id = run.info.run_id
        client = fluent._client()
        cls = type(self)
        client.log_batch(
            run_id,
            params=[Param(k, str(v)[:MAX_PARAM_VAL_LENGTH]) for k, v in _params(self).items()],
            tags=[RunTag("estimator_name", cls.__name__), RunTag("estimator_class", f"{cls.__module__}.{cls.__name__}")],
        )
        dataset = log_dataset(X, y) if conf["log_datasets"] and X is not None else None
        result = call(*args, **kwargs)
        try:
            from labkeep.sklearn.post_training import busy

            with busy():
                _after_fit(client, run_id, self, X, y, weight, dataset, conf)
        except Exception as e:
            from labkeep.autologging.config import warn_once

            warn_once(FLAVOR, f"labkeep autologging for sklearn could not log everything: {e!r}")
    return result


def _after_fit(client: Any, run_id: str, est: Any, X: Any, y: Any, weight: Any, dataset: Any, conf: dict) -> None:
    from labkeep import fluent
    from labkeep.autologging.logging_utils import metric_dict
    from labkeep.sklearn.post_training import remember_model
    from labkeep.sklearn.training_metrics import estimator_html, log_classifier_plots, training_metrics

    model_id = signature = example = None
    if conf["log_models"]:
        model_id, example, signature = _log_model(est, X, conf, "model", conf.get("registered_model_name"))
    metrics = metric_dict(training_metrics(est, X, y, weight, conf.get("pos_label")))
    if metrics:
        fluent.log_metrics(metrics, run_id=run_id, model_id=model_id, dataset=dataset)
    try:
        client.log_text(run_id, estimator_html(est), "estimator.html")
    except Exception as e:
        _log.warning("labkeep autologging: could not log estimator.html: %s", e)
    import sklearn.base

    if y is not None and sklearn.base.is_classifier(est):
        log_classifier_plots(client, run_id, est, X, y, weight)
    if is_search(est):
        from labkeep.sklearn.search import log_search

        log_search(client, run_id, est, conf, dataset, example, signature)
    remember_model(est, run_id, model_id)


def _log_model(est: Any, X: Any, conf: dict, name: str, registered: str | None, params: dict | None = None) -> tuple:
    from labkeep.autologging.logging_utils import example_and_signature
    from labkeep.sklearn import log_model

    predict = getattr(est, "predict", None) or getattr(est, "transform", None)
    example, signature = example_and_signature(conf, X, predict) if X is not None else (None, None)
    if params is None:
        params = _params(est)
        params.update({f"best_{k}": v for k, v in (getattr(est, "best_params_", None) or {}).items()})
    pyfunc_fn = "predict" if hasattr(est, "predict") else "transform"
    if not callable(getattr(est, pyfunc_fn, None)):
        return None, example, signature
    info = log_model(
        est,
        name=name,
        signature=signature,
        input_example=example,
        serialization_format=conf.get("serialization_format", "cloudpickle"),
        registered_model_name=registered,
        params={k: str(v)[:6000] for k, v in params.items()},
        pyfunc_predict_fn=pyfunc_fn,
    )
    return info.model_id, example, signature
