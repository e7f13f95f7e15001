"""What a parameter search (GridSearchCV, RandomizedSearchCV) adds to its autologged run."""

from __future__ import annotations

import logging
import numbers
import os
import tempfile
from typing import Any

_log = logging.getLogger("labkeep.sklearn")


def log_search(
    client: Any, run_id: str, est: Any, conf: dict, dataset: Any, example: Any, signature: Any
) -> None:
    """best_* params, best_cv_score, the best_estimator model, cv_results.csv and child runs."""
    from labkeep import fluent
    from labkeep.entities import Param

    best_params = {f"best_{k}": v for k, v in (getattr(est, "best_params_", None) or {}).items()}
    best_model_id = None
    best_est_params = None
    if conf["log_models"] and hasattr(est, "best_estimator_"):
        from labkeep.sklearn import log_model

        best_est_params = est.best_estimator_.get_params(deep=True)
        info = log_model(
            est.best_estimator_,
            name="best_estimator",
            signature=signature,
            input_example=example,
            serialization_format=conf.get("serialization_format", "cloudpickle"),
            params={k: str(v)[:6000] for k, v in best_est_params.items()},
        )
        best_model_id = info.model_id
    if hasattr(est, "best_score_"):
        fluent.log_metrics({"best_cv_score": float(est.best_score_)}, run_id=run_id, dataset=dataset)
    if best_params:
        client.log_batch(run_id, params=[Param(k, str(v)[:6000]) for k, v in best_params.items()])
    if hasattr(est, "cv_results_"):
        import pandas as pd

        results = pd.DataFrame.from_dict(est.cv_results_)
        try:
            _child_runs(client, run_id, est, results, conf.get("max_tuning_runs"), dataset,
                        best_est_params, best_model_id)  # fmt: skip
        except Exception as e:
            _log.warning("labkeep autologging: child runs of the search may be missing: %s", e)
        with tempfile.TemporaryDirectory(prefix="labkeep-cv-") as tmp:
            path = os.path.join(tmp, "cv_results.csv")
            results.to_csv(path, index=False)
            client.log_artifact(run_id, path)


def _child_runs(
    client: Any,
    parent_id: str,
    est: Any,
    results: Any,
    max_runs: int | None,
    dataset: Any,
    best_params: dict | None,
    best_model_id: str | None,
) -> None:
    from labkeep.autologging.runs import AUTOLOGGING_TAG
    from labkeep.context import run_context_tags
    from labkeep.entities import DatasetInput, InputTag, Metric, Param
    from labkeep.sklearn.autolog import _params
    from labkeep.utils.clock import now_ms

    if max_runs is not None:
        rank: str | None = "rank_test_score"
        if rank not in results.columns:
            rank = next((c for c in results.columns if c.startswith("rank_test_")), None)
        results = results.nsmallest(max_runs, rank) if rank else results.head(max_runs)
    parent = client.get_run(parent_id)
    seed = est.estimator
    base = _params(seed)
    tags, _ = run_context_tags()
    cls = type(seed)
    tags.update({
        AUTOLOGGING_TAG: "sklearn",
        "mlflow.parentRunId": parent_id,
        "estimator_name": cls.__name__,
        "estimator_class": f"{cls.__module__}.{cls.__name__}",
    })
    end = now_ms()
    for _, row in results.iterrows():
        child = client.create_run(parent.info.experiment_id, start_time=parent.info.start_time, tags=tags)
        cid = child.info.run_id
        params = dict(base)
        params.update(row.get("params", {}) or {})
        ts = now_ms()
        row_params = row.get("params", {}) or {}
        model_id = best_model_id if best_params and row_params.items() <= best_params.items() else None
        name, digest = (dataset.name, dataset.digest) if dataset is not None else (None, None)
        metrics = [
            Metric(k, float(v), ts, 0, model_id, name, digest)
            for k, v in row.items()
            if not k.startswith(("param", "split")) and isinstance(v, numbers.Real) and not isinstance(v, bool)
        ]
        client.log_batch(cid, metrics=metrics, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
        if dataset is not None:
            client.log_inputs(cid, [DatasetInput(dataset, [InputTag("mlflow.data.context", "train")])])
        client.set_terminated(cid, "FINISHED", end)
