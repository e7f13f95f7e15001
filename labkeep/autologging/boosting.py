"""What XGBoost and LightGBM autolog share: the patched ``train`` (``BoosterTrain``) and
sklearn-API ``fit`` (``SklearnApiFit``), function-argument params, per-iteration eval metrics,
early-stopping figures and feature importance (JSON and a bar plot) as artifacts."""

from __future__ import annotations

import abc
import inspect
import json
import logging
import os
import tempfile
from typing import Any

_log = logging.getLogger("labkeep.autologging")


def fn_params(fn: Any, args: tuple, kwargs: dict, unlogged: set[str]) -> dict[str, Any]:
    """Every parameter of ``fn`` the call set or left at its default, minus ``unlogged``."""
    out: dict[str, Any] = {}
    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]
    for p, value in zip(params, args, strict=False):
        out[p.name] = value
    out.update(kwargs)
    for p in params:
        if p.name not in out and p.default is not inspect.Parameter.empty and p.kind not in (
            p.VAR_KEYWORD, p.VAR_POSITIONAL
        ):
            out[p.name] = p.default
    return {k: v for k, v in out.items() if k not in unlogged}


def arg(fn: Any, args: tuple, kwargs: dict, name: str, default: Any = None) -> Any:
    """The value passed for parameter ``name`` (by position or keyword)."""
    if name in kwargs:
        return kwargs[name]
    names = [p for p in inspect.signature(fn).parameters if p != "self"]
    if name in names and names.index(name) < len(args):
        return args[names.index(name)]
    return default


def with_callback(fn: Any, args: tuple, kwargs: dict, callback: Any) -> tuple[tuple, dict]:
    """``args``/``kwargs`` with ``callback`` appended to the ``callbacks`` argument."""
    names = [p for p in inspect.signature(fn).parameters if p != "self"]
    index = names.index("callbacks")
    if len(args) > index:
        args = list(args)  # type: ignore[assignment]
        args[index] = [*(args[index] or []), callback]  # type: ignore[index]
        return tuple(args), kwargs
    kwargs = dict(kwargs)
    kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), callback]
    return args, kwargs


class MetricBuffer:
    """Collects per-iteration metrics and writes them in a few batches (not one call per step)."""

    def __init__(self, run_id: str, flush_every: int = 100) -> None:
        self.run_id = run_id
        self.flush_every = flush_every
        self.pending: list[Any] = []
        self.history: list[dict[str, float]] = []

    def add(self, step: int, values: dict[str, float]) -> None:
        from labkeep.entities import Metric
        from labkeep.utils.clock import now_ms

        ts = now_ms()
        values = {k.replace("@", "_at_"): float(v) for k, v in values.items()}
        self.history.append(values)
        self.pending.extend(Metric(k, v, ts, step) for k, v in values.items())
        if len(self.pending) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            from labkeep import fluent

            batch, self.pending = self.pending, []
            for i in range(0, len(batch), 1000):
                fluent._client().log_batch(self.run_id, metrics=batch[i : i + 1000])


def log_importance(run_id: str, importance: dict[str, float], importance_type: str) -> None:
    """``feature_importance_<type>.json`` and ``.png`` artifacts of the run."""
    from labkeep import fluent

    client = fluent._client()
    client.log_text(run_id, json.dumps(importance, indent=2), f"feature_importance_{importance_type}.json")
    try:
        png = _importance_png(importance, importance_type)
    except Exception as e:
        _log.warning("labkeep autologging: feature importance plot failed: %s", e)
        return
    with tempfile.TemporaryDirectory(prefix="labkeep-imp-") as tmp:
        path = os.path.join(tmp, f"feature_importance_{importance_type}.png")
        with open(path, "wb") as f:
            f.write(png)
        client.log_artifact(run_id, path)


def _importance_png(importance: dict[str, float], importance_type: str) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    items = sorted(importance.items(), key=lambda kv: kv[1])
    height = 4.8 + (0.1 * len(items) if len(items) > 10 else 0)
    fig = Figure(figsize=(6.4, height))
    ax = fig.subplots()
    ax.barh(range(len(items)), [v for _k, v in items], align="center", height=0.5)
    ax.set_yticks(range(len(items)))
    ax.set_yticklabels([k for k, _v in items])
    ax.set_xlabel("Importance")
    ax.set_title(f"Feature Importance ({importance_type})")
    fig.subplots_adjust(left=0.25)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def log_params(run_id: str, params: dict[str, Any]) -> None:
    from labkeep import fluent
    from labkeep.entities import Param

    if params:
        fluent._client().log_batch(run_id, params=[Param(str(k), str(v)[:6000]) for k, v in params.items()])


class SklearnApiFit:
    """The patched ``fit`` of a booster library's scikit-learn API (XGBClassifier, LGBMRegressor …):
    one run, the training set, the inner ``train`` call logging its params and per-iteration
    metrics (but not a model of its own), then the fitted estimator logged as ``model``."""

    def __init__(self, flavor: str, log_model: Any, **log_kwargs: Any) -> None:
        import threading

        self.flavor = flavor
        self.log_model = log_model  # (estimator, conf, **kwargs) -> ModelInfo
        self.log_kwargs = log_kwargs
        self._state = threading.local()

    def inside(self) -> bool:
        """True while this library's sklearn-API ``fit`` runs (its ``train`` logs no model)."""
        return getattr(self._state, "depth", 0) > 0

    def __call__(self, call: Any, est: Any, *args: Any, **kwargs: Any) -> Any:
        from labkeep.autologging import allow_nested, get_config, training_run
        from labkeep.autologging.logging_utils import example_and_signature, log_dataset

        conf = get_config(self.flavor)
        X = args[0] if args else kwargs.get("X")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        with training_run(self.flavor, conf):
            if conf["log_datasets"] and X is not None:
                log_dataset(X, y)
            self._state.depth = getattr(self._state, "depth", 0) + 1
            try:
                with allow_nested(self.flavor, "train"):
                    result = call(*args, **kwargs)
            finally:
                self._state.depth -= 1
            if conf["log_models"]:
                example, signature = example_and_signature(conf, X, est.predict) if X is not None else (None, None)
                self.log_model(est, conf, signature=signature, input_example=example)
        return result


def install(flavor: str, library: Any, estimator_base: type, train: Any, fit: Any) -> None:
    """Patch a booster library's ``train`` (also as its sklearn module sees it) and the ``fit`` of
    ``estimator_base`` and every subclass the library defines."""
    import importlib

    from labkeep.autologging import safe_patch, safe_patch_function

    safe_patch_function(flavor, library, "train", train)
    safe_patch_function(flavor, importlib.import_module(f"{library.__name__}.sklearn"), "train", train)
    package = estimator_base.__module__.split(".")[0]
    classes, todo = [estimator_base], [estimator_base]
    sub: type
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in classes and sub.__module__.startswith(package):
                classes.append(sub)
                todo.append(sub)
    for cls in classes:
        if "fit" in cls.__dict__:
            safe_patch(flavor, cls, "fit", fit)


class BoosterTrain(abc.ABC):
    """The patched ``train`` of a booster library: booster and call params, per-iteration eval
    metrics, early-stopping figures, the training set, the model and feature importance, in one
    run. Subclasses say where each piece comes from; inside the library's sklearn-API ``fit``
    (``fit.inside()``) the model and dataset are left to ``fit``."""

    def __init__(self, fit: SklearnApiFit, train_module: str, train_set_arg: str, unlogged: set[str]) -> None:
        """``train_module`` defines the library's own ``train`` (whose signature names the
        arguments), ``train_set_arg`` is its training-set parameter, ``unlogged`` the arguments
        not logged as params."""
        self.fit = fit
        self.flavor = fit.flavor
        self.train_module = train_module
        self.train_set_arg = train_set_arg
        self.unlogged = unlogged

    @abc.abstractmethod
    def callback(self, buffer: MetricBuffer) -> Any:
        """A training callback adding each iteration's eval results to ``buffer``."""

    @abc.abstractmethod
    def dataset(self, train_set: Any) -> tuple[Any, Any] | None:
        """``(features, labels)`` of the training set, or None when they are not at hand."""

    @abc.abstractmethod
    def example(self, train_set: Any, model: Any) -> tuple[Any, Any] | None:
        """``(rows, predict)`` for the input example and signature, or None."""

    @abc.abstractmethod
    def early_stopping(self, model: Any, iterations: int, rounds: Any) -> tuple[int, int] | None:
        """``(stopped_iteration, index of the best iteration in the history)`` when training stopped
        early; ``iterations`` ran, ``rounds`` is the ``early_stopping_rounds`` argument (if any)."""

    @abc.abstractmethod
    def importance_types(self, conf: dict[str, Any]) -> list[str]:
        """The feature-importance types to log."""

    @abc.abstractmethod
    def importance(self, model: Any, importance_type: str) -> dict[str, float]:
        """Feature name -> importance of that type."""

    def log_model(self, model: Any, conf: dict[str, Any], **kwargs: Any) -> Any:
        """Log the trained booster as ``model`` (as the sklearn-API ``fit`` logs its estimator)."""
        return self.fit.log_model(model, conf, **kwargs)

    def __call__(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        import importlib

        from labkeep import fluent
        from labkeep.autologging import get_config, training_run
        from labkeep.autologging.config import warn_once
        from labkeep.autologging.logging_utils import example_and_signature, log_dataset

        conf = get_config(self.flavor)
        fn = importlib.import_module(self.train_module).train
        from_sklearn = self.fit.inside()
        with training_run(self.flavor, conf) as run:
            run_id = run.info.run_id
            call_params = fn_params(fn, args, kwargs, self.unlogged)
            log_params(run_id, {**dict(arg(fn, args, kwargs, "params") or {}), **call_params})
            train_set = arg(fn, args, kwargs, self.train_set_arg)
            data = self.dataset(train_set)
            if conf["log_datasets"] and not from_sklearn and data is not None:
                log_dataset(*data)
            buffer = MetricBuffer(run_id)
            args, kwargs = with_callback(fn, args, kwargs, self.callback(buffer))
            try:
                model = call(*args, **kwargs)
            finally:
                buffer.flush()
            last = len(buffer.history)
            rounds = arg(fn, args, kwargs, "early_stopping_rounds")
            stopped = self.early_stopping(model, last, rounds) if last else None
            if stopped is not None:
                figures = {"stopped_iteration": stopped[0], "best_iteration": model.best_iteration}
                fluent.log_metrics(figures, run_id=run_id)
                best = stopped[1]
                if 0 <= best < last:
                    fluent.log_metrics(buffer.history[best], step=last, run_id=run_id)
            if conf["log_models"] and not from_sklearn:
                source = self.example(train_set, model)
                example, signature = (None, None) if source is None else example_and_signature(conf, *source)
                self.log_model(model, conf, signature=signature, input_example=example, params=call_params)
            for imp_type in self.importance_types(conf):
                try:
                    log_importance(run_id, self.importance(model, imp_type), imp_type)
                except Exception as e:
                    warn_once(self.flavor, f"labkeep autologging: feature importance ({imp_type}) failed: {e!r}")
        return model
