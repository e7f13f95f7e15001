"""The training metrics and plots sklearn autolog records (mlflow's keys: ``training_*``)."""

from __future__ import annotations

import inspect
import logging
import os
import tempfile
from typing import Any

_log = logging.getLogger("labkeep.sklearn")
PREFIX = "training_"


def _with_weight(fn: Any, kwargs: dict[str, Any], sample_weight: Any) -> Any:
    if sample_weight is not None:
        kwargs["sample_weight"] = sample_weight
    return fn(**kwargs)


def classifier_metrics(est: Any, X: Any, y: Any, sample_weight: Any, pos_label: Any) -> dict[str, float]:
    from sklearn import metrics as m

    average = "weighted" if pos_label is None else "binary"
    y_pred = est.predict(X)
    out: dict[str, float] = {}
    for name, fn in (("precision_score", m.precision_score), ("recall_score", m.recall_score),
                     ("f1_score", m.f1_score)):  # fmt: skip
        out[PREFIX + name] = _with_weight(
            fn, dict(y_true=y, y_pred=y_pred, pos_label=pos_label, average=average), sample_weight
        )
    out[PREFIX + "accuracy_score"] = _with_weight(
        m.accuracy_score, dict(y_true=y, y_pred=y_pred, normalize=True), sample_weight
    )
    if hasattr(est, "predict_proba"):
        try:
            proba = est.predict_proba(X)
        except Exception:  # e.g. SVC(probability=False) exposes the attribute but cannot answer
            return out
        weight = {"sample_weight": sample_weight} if sample_weight is not None else {}
        out[PREFIX + "log_loss"] = m.log_loss(y, proba, **weight)
        score = proba[:, 1] if proba.shape[1] == 2 else proba
        try:
            out[PREFIX + "roc_auc"] = _with_weight(
                m.roc_auc_score,
                dict(y_true=y, y_score=score, average="weighted", multi_class="ovo"),
                sample_weight,
            )
        except ValueError:  # one class only in y, and similar
            pass
    return out


def regressor_metrics(est: Any, X: Any, y: Any, sample_weight: Any) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics as m

    y_pred = est.predict(X)
    out = {
        PREFIX + "mean_squared_error": _with_weight(
            m.mean_squared_error, dict(y_true=y, y_pred=y_pred), sample_weight
        ),
        PREFIX + "mean_absolute_error": _with_weight(
            m.mean_absolute_error, dict(y_true=y, y_pred=y_pred), sample_weight
        ),
        PREFIX + "r2_score": _with_weight(m.r2_score, dict(y_true=y, y_pred=y_pred), sample_weight),
    }
    out[PREFIX + "root_mean_squared_error"] = float(np.sqrt(out[PREFIX + "mean_squared_error"]))
    return out


def training_metrics(est: Any, X: Any, y: Any, sample_weight: Any, pos_label: Any) -> dict[str, float]:
    """``training_*`` metrics for a fitted classifier or regressor, plus ``training_score``."""
    import sklearn.base

    out: dict[str, float] = {}
    if y is None:
        return out
    try:
        if sklearn.base.is_classifier(est):
            out.update(classifier_metrics(est, X, y, sample_weight, pos_label))
        elif sklearn.base.is_regressor(est):
            out.update(regressor_metrics(est, X, y, sample_weight))
    except Exception as e:
        _log.warning("labkeep autologging: training metrics of %s failed: %s", type(est).__name__, e)
    if hasattr(est, "score"):
        try:
            takes_weight = "sample_weight" in inspect.signature(est.score).parameters
            args = (X, y, sample_weight) if takes_weight and sample_weight is not None else (X, y)
            out[PREFIX + "score"] = est.score(*args)
        except Exception as e:
            _log.warning("labkeep autologging: %s.score failed: %s", type(est).__name__, e)
    return out


def estimator_html(est: Any) -> str:
    from sklearn.utils import estimator_html_repr

    return (
        '<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8"/>\n  </head>\n'
        f"  <body>\n    {estimator_html_repr(est)}\n  </body>\n</html>\n"
    )


def log_classifier_plots(client: Any, run_id: str, est: Any, X: Any, y: Any, sample_weight: Any) -> None:
    """Confusion matrix (and ROC / precision-recall curves for two classes) as PNG artifacts."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from sklearn import metrics as m

    plots: list[tuple[str, Any, dict]] = [("confusion_matrix", m.ConfusionMatrixDisplay.from_estimator, {})]
    if len(getattr(est, "classes_", [])) == 2:
        plots.append(("roc_curve", m.RocCurveDisplay.from_estimator, {}))
        plots.append(("precision_recall_curve", m.PrecisionRecallDisplay.from_estimator, {}))
    with tempfile.TemporaryDirectory(prefix="labkeep-sk-") as tmp, matplotlib.rc_context(
        {"savefig.dpi": 100, "figure.autolayout": False, "font.size": 8}
    ):
        for name, make, kw in plots:
            try:
                kwargs = dict(kw, sample_weight=sample_weight) if sample_weight is not None else kw
                display = make(est, X, y, **kwargs)
                display.ax_.set_title(name.replace("_", " "))
                display.figure_.savefig(os.path.join(tmp, f"{PREFIX}{name}.png"), format="png")
                plt.close(display.figure_)
            except Exception as e:
                _log.warning("labkeep autologging: could not plot %s: %s", name, e)
        if os.listdir(tmp):
            client.log_artifacts(run_id, tmp)
