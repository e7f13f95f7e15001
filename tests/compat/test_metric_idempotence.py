"""Issue 12's duplicate-history flow, end to end against a `labkeep server` process.

An identical (key, value, timestamp, step) is one point, as in mlflow: log_model's metric
linking (official mlflow client and labkeep's own) and retried requests add nothing to a run's
history, and the run page counts steps right.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import requests

from tests.server.helpers import running_server

pytestmark = pytest.mark.compat

_CLIENT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from sklearn.linear_model import LinearRegression
    import {module} as mlflow

    X = np.arange(20, dtype=float).reshape(-1, 2)
    model = LinearRegression().fit(X, X[:, 0])
    with mlflow.start_run() as run:
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.sklearn.log_model(model, name="m1")
        mlflow.sklearn.log_model(model, name="m2")
    client = mlflow.MlflowClient()
    history = client.get_metric_history(run.info.run_id, "loss")
    models = client.search_logged_models(experiment_ids=[run.info.experiment_id])
    json.dump(
        {{
            "run_id": run.info.run_id,
            "history": [[m.step, m.value, m.timestamp] for m in history],
            "model_metrics": sorted([m.step, m.value] for lm in models for m in lm.metrics or []),
        }},
        sys.stdout,
    )
    """
)


@pytest.fixture
def server(tmp_path, db_uri):
    with running_server(["--backend-store-uri", db_uri], cwd=str(tmp_path)) as (url, _proc):
        yield url


def _run_client(module: str, url: str, tmp_path) -> dict:
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LABKEEP_"))}
    env.update(
        {
            "MLFLOW_TRACKING_URI": url,
            "LABKEEP_TRACKING_URI": url,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
        }
    )
    proc = subprocess.run(
        [sys.executable, "-c", _CLIENT_SCRIPT.format(module=module)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["mlflow", "labkeep"])
def test_log_model_keeps_history_single(server, tmp_path, module):
    out = _run_client(module, server, tmp_path)
    assert [(s, round(v, 6)) for s, v, _ in out["history"]] == [(0, 1.0), (1, 0.5), (2, round(1 / 3, 6))]
    # each logged model still carries the run's step-0 point
    assert out["model_metrics"] == [[0, 1.0], [0, 1.0]]
    page = requests.get(f"{server}/runs/{out['run_id']}.json", timeout=30).json()
    assert [(m["key"], m["steps"]) for m in page["metrics"]] == [("loss", 3)]


def test_retried_requests_store_one_point(server):
    api = f"{server}/api/2.0/mlflow"
    run = requests.post(f"{api}/runs/create", json={"experiment_id": "0"}, timeout=30).json()["run"]
    run_id = run["info"]["run_id"]
    point = {"run_id": run_id, "key": "loss", "value": 0.25, "timestamp": 1700000000000, "step": 4}
    batch = {"run_id": run_id, "metrics": [{**point, "step": 5}, {**point, "step": 5}]}
    for _ in range(3):  # a client retrying after timeouts
        assert requests.post(f"{api}/runs/log-metric", json=point, timeout=30).status_code == 200
        assert requests.post(f"{api}/runs/log-batch", json=batch, timeout=30).status_code == 200
    history = requests.get(
        f"{api}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"}, timeout=30
    ).json()["metrics"]
    assert sorted(m["step"] for m in history) == [4, 5]
