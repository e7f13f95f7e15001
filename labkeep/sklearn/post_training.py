"""Post-training metrics: ``accuracy_score(y_test, model.predict(X_test))`` after an autologged
``fit`` is logged on that model's run as ``accuracy_score_X_test`` (mlflow's key shape:
``{metric}[-{n}]_{dataset variable name}``; ``model.score(X_test, y)`` gives
``{Estimator}_score_X_test``).

``predict`` results are remembered by id (forgotten when garbage-collected); a metric function
given one of them logs under the name of the variable the prediction was made from.
"""

from __future__ import annotations

import logging
import sys
import threading
import weakref
from collections import defaultdict
from types import FrameType
from typing import Any

_logger = logging.getLogger("labkeep.sklearn")
_lock = threading.Lock()
_models: dict[int, tuple[str, str | None]] = {}  # id(model) -> (run_id, model_id)
_predictions: dict[int, tuple[str, str, str | None]] = {}  # id(result) -> (run_id, dataset, model_id)
_datasets: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
_calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
_info: dict[str, dict[str, str]] = defaultdict(dict)  # run -> metric key -> the call that made it
_busy = threading.local()
_SKIP_MODULES = ("labkeep.", "sklearn.", "functools", "contextlib")

PREDICT_METHODS = ("predict", "predict_proba", "predict_log_proba", "transform", "decision_function")
# sklearn.metrics functions that are not metrics
_NOT_METRICS = {"check_scoring", "get_scorer", "make_scorer", "get_scorer_names"}


def remember_model(model: Any, run_id: str, model_id: str | None) -> None:
    key = id(model)
    with _lock:
        _models[key] = (run_id, model_id)
    try:
        weakref.finalize(model, _models.pop, key, None)
    except TypeError:
        pass


def _var_name(obj: Any, fallback: str = "unknown_dataset") -> str:
    """The name the user's code binds ``obj`` to, looking up the stack past library frames."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_SKIP_MODULES):
        frame = frame.f_back
    if frame is None:
        return fallback
    for scope in (frame.f_locals, frame.f_globals):
        for name, value in scope.items():
            if value is obj and not name.startswith("_"):
                return name
    return fallback


def _dataset_name(run_id: str, obj: Any) -> str:
    name = _var_name(obj)
    seen = _datasets[run_id][name]
    if id(obj) not in seen:
        seen.append(id(obj))
    index = seen.index(id(obj))
    return name if index == 0 else f"{name}-{index + 1}"


def _metric_key(run_id: str, metric: str, dataset: str) -> str:
    with _lock:
        n = _calls[run_id][metric]
        _calls[run_id][metric] = n + 1
    return f"{metric if n == 0 else f'{metric}-{n + 1}'}_{dataset}"


def _log(run_id: str, key: str, value: Any, model_id: str | None, command: str | None = None) -> None:
    from labkeep import fluent
    from labkeep.autologging.logging_utils import metric_dict

    values = metric_dict({key: value})
    if not values:
        return
    fluent.log_metrics(values, run_id=run_id, model_id=model_id)
    if command is not None:
        _info[run_id][key] = command
        fluent._client().log_dict(run_id, dict(_info[run_id]), "metric_info.json")


def _call_text(fn: Any, args: tuple, kwargs: dict, owner: Any = None) -> str:
    """``accuracy_score(y_true=y_test, y_pred=y_pred)``: the call, with the user's variable names."""
    import inspect

    import numpy as np

    def show(value: Any) -> str:
        if value is None or np.isscalar(value):
            text = repr(value)
            return text if len(text) <= 36 else text[:33] + "..."
        return _var_name(value, f"<{type(value).__name__}>")

    try:
        names = [n for n in inspect.signature(fn).parameters if n != "self"]
    except (TypeError, ValueError):
        names = []
    parts = [f"{n}={show(v)}" for n, v in zip(names, args, strict=False)]
    parts += [f"{k}={show(v)}" for k, v in kwargs.items()]
    prefix = f"{type(owner).__name__}." if owner is not None else ""
    return f"{prefix}{getattr(fn, '__name__', 'metric')}({', '.join(parts)})"


def after_predict(model: Any, data: Any, result: Any) -> None:
    """Remember ``result`` as a prediction of an autologged model on ``data``."""
    info = _models.get(id(model))
    if info is None or getattr(_busy, "on", False):
        return
    run_id, model_id = info
    key = id(result)
    _predictions[key] = (run_id, _dataset_name(run_id, data), model_id)
    try:
        weakref.finalize(result, _predictions.pop, key, None)
    except TypeError:
        pass


def after_score(model: Any, data: Any, value: Any, args: tuple = (), kwargs: dict | None = None) -> None:
    info = _models.get(id(model))
    if info is None or getattr(_busy, "on", False):
        return
    run_id, model_id = info
    key = _metric_key(run_id, f"{type(model).__name__}_score", _dataset_name(run_id, data))
    _log(run_id, key, value, model_id, _call_text(type(model).score, args, kwargs or {}, model))


def wrap_metric(fn: Any) -> Any:
    """A ``sklearn.metrics`` function that logs its value when given a remembered prediction."""
    import functools

    from labkeep.autologging.config import get_config, is_enabled

    @functools.wraps(fn)
    def metric(*args: Any, **kwargs: Any) -> Any:
        if getattr(_busy, "on", False) or not _predictions:
            return fn(*args, **kwargs)
        _busy.on = True
        try:
            value = fn(*args, **kwargs)
        finally:
            _busy.on = False
        if not is_enabled("sklearn") or not get_config("sklearn").get("log_post_training_metrics", True):
            return value
        try:
            for arg in (*args, *kwargs.values()):
                info = _predictions.get(id(arg))
                if info is not None:
                    run_id, dataset, model_id = info
                    key = _metric_key(run_id, fn.__name__, dataset)
                    _log(run_id, key, value, model_id, _call_text(fn, args, kwargs))
                    break
        except Exception as e:
            _log_warning(fn.__name__, e)
        return value

    metric._labkeep_original = fn  # type: ignore[attr-defined]
    return metric


def _log_warning(name: str, e: Exception) -> None:
    _logger.warning("labkeep autologging: could not log post-training metric %s: %s", name, e)


def patch_metric_functions() -> None:
    import sklearn.metrics

    for name in getattr(sklearn.metrics, "__all__", []):
        fn = getattr(sklearn.metrics, name, None)
        if name in _NOT_METRICS or not callable(fn) or isinstance(fn, type) or hasattr(fn, "_labkeep_original"):
            continue
        if not name.endswith(("_score", "_error", "_loss")):
            continue
        setattr(sklearn.metrics, name, wrap_metric(fn))


def unpatch_metric_functions() -> None:
    import sklearn.metrics

    for name in getattr(sklearn.metrics, "__all__", []):
        fn = getattr(sklearn.metrics, name, None)
        original = getattr(fn, "_labkeep_original", None)
        if original is not None:
            setattr(sklearn.metrics, name, original)


def busy() -> Any:
    """A context in which metric and predict calls log nothing (autolog's own computations)."""
    import contextlib

    @contextlib.contextmanager
    def ctx() -> Any:
        old = getattr(_busy, "on", False)
        _busy.on = True
        try:
            yield
        finally:
            _busy.on = old

    return ctx()
