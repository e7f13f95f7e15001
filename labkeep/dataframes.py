"""Runs as a pandas DataFrame (the default output of ``search_runs``)."""

from __future__ import annotations

from typing import Any


def runs_to_dataframe(runs: list) -> Any:
    import pandas as pd

    info_cols: dict[str, list] = {
        "run_id": [],
        "experiment_id": [],
        "status": [],
        "artifact_uri": [],
        "start_time": [],
        "end_time": [],
    }
    metric_keys: set[str] = set()
    param_keys: set[str] = set()
    tag_keys: set[str] = set()
    for run in runs:
        metric_keys.update(run.data.metrics)
        param_keys.update(run.data.params)
        tag_keys.update(run.data.tags)
    data: dict[str, list] = {
        **info_cols,
        **{f"metrics.{k}": [] for k in sorted(metric_keys)},
        **{f"params.{k}": [] for k in sorted(param_keys)},
        **{f"tags.{k}": [] for k in sorted(tag_keys)},
    }
    for run in runs:
        info = run.info
        data["run_id"].append(info.run_id)
        data["experiment_id"].append(info.experiment_id)
        data["status"].append(info.status)
        data["artifact_uri"].append(info.artifact_uri)
        data["start_time"].append(info.start_time)
        data["end_time"].append(info.end_time)
        metrics = run.data.metrics
        for k in metric_keys:
            data[f"metrics.{k}"].append(metrics.get(k))
        for k in param_keys:
            data[f"params.{k}"].append(run.data.params.get(k))
        for k in tag_keys:
            data[f"tags.{k}"].append(run.data.tags.get(k))
    frame = pd.DataFrame(data)
    for col in ("start_time", "end_time"):
        frame[col] = pd.to_datetime(frame[col], unit="ms", utc=True)
    for k in metric_keys:
        frame[f"metrics.{k}"] = frame[f"metrics.{k}"].astype("float64")
    return frame
