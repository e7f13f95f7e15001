"""What XGBoost and LightGBM autolog share: function-argument params, per-iteration eval metrics,
early-stopping figures and feature importance (JSON and a bar plot) as artifacts."""

from __future__ import annotations

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
