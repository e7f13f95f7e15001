"""Compatibility proof: the official mlflow client (3.17.2) runs the tutorial flow (train, log, register, alias, stage, load) against a labkeep server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.server.helpers import running_server

pytestmark = pytest.mark.compat
SCRIPT = os.path.join(os.path.dirname(__file__), "flow_script.py")


def run_flow(module: str, url: str, tmp_path, with_models: bool = True) -> dict:
    out = tmp_path / f"{module}-result.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LABKEEP_"))}
    env.update(
        {
            "MLFLOW_TRACKING_URI": url,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
            "FLOW_WITH_MODELS": "1" if with_models else "0",
        }
    )
    workdir = tmp_path / f"{module}-client"
    workdir.mkdir()
    proc = subprocess.run(
        [sys.executable, SCRIPT, module, str(out)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text())


@pytest.fixture
def server(tmp_path):
    srv = tmp_path / "server"
    srv.mkdir()
    with running_server([], cwd=str(srv)) as (url, _proc):
        yield url, srv


def _assert_tracking(r: dict, server_dir) -> None:
    exp_id = r["experiment"]["id"]
    assert r["experiment"]["artifact_location"] == f"mlflow-artifacts:/{exp_id}"
    run = r["run"]
    assert run["status"] == "FINISHED"
    assert run["artifact_uri"] == f"mlflow-artifacts:/{exp_id}/{run['id']}/artifacts"
    assert run["params"]["alpha"] == "0.5" and run["params"]["a"] == "1" and run["params"]["b"] == "two"
    assert run["metrics"]["loss"] == pytest.approx(1 / 3)  # latest step
    assert run["metrics"]["acc"] == pytest.approx(0.9) and run["metrics"]["f1"] == pytest.approx(0.8)
    assert run["tags"]["team"] == "ml" and run["tags"]["mlflow.runName"] == "parent"
    assert r["child"] == {"status": "FINISHED", "parent_tag": run["id"]}
    # log_model re-logs step-0 metrics with the model's id : the same points, stored once
    history = sorted((step, round(value, 6)) for step, value in r["loss_history"])
    assert history == [(0, 1.0), (1, 0.5), (2, round(1 / 3, 6))]
    assert "notes.txt" in r["artifacts_root"] and "docs" in r["artifacts_root"]
    assert r["artifacts_sub"] == ["docs/sub/notes.txt"]
    assert r["downloaded_notes"] == "hello from the compat flow"
    assert r["search"] == [run["id"]]
    assert len(r["search_child"]) == 1
    # the bytes went through the proxy into the server's artifacts destination
    stored = server_dir / "labkeep-artifacts" / exp_id / run["id"] / "artifacts" / "notes.txt"
    assert stored.read_text() == "hello from the compat flow"


def test_official_mlflow_client_full_flow(server, tmp_path):
    url, server_dir = server
    r = run_flow("mlflow", url, tmp_path)
    _assert_tracking(r, server_dir)
    assert r["registered_versions"] == ["1", "2"]
    assert r["aliases"] == {"champion": "1"}
    assert r["by_alias_version"] == "1"
    assert (
        r["v2"]["stage"] == "Staging" and r["v2"]["status"] == "READY" and r["v2"]["run_id"] == r["run"]["id"]
    )
    p = r["predictions"]
    assert p["alias"] == pytest.approx(p["original1"])
    assert p["version2"] == pytest.approx(p["original2"])
    assert p["runs_uri"] == pytest.approx(p["original1"])
    assert p["original1"] != pytest.approx(p["original2"])
    exp_id = r["experiment"]["id"]
    model_dir = server_dir / "labkeep-artifacts" / exp_id / "models" / r["model_ids"][0] / "artifacts"
    assert (model_dir / "MLmodel").exists()


def test_labkeep_client_tracking_flow_over_http(server, tmp_path):
    url, server_dir = server
    r = run_flow("labkeep", url, tmp_path, with_models=False)
    _assert_tracking(r, server_dir)


def test_labkeep_client_full_flow_with_models(server, tmp_path):
    """``import labkeep as mlflow`` runs the whole flow, models and registry included, over HTTP."""
    pytest.importorskip("labkeep.models.logging", reason="labkeep's model logging is not installed yet")
    url, server_dir = server
    r = run_flow("labkeep", url, tmp_path, with_models=True)
    _assert_tracking(r, server_dir)
    assert r["registered_versions"] == ["1", "2"] and r["aliases"] == {"champion": "1"}
    p = r["predictions"]
    assert p["alias"] == pytest.approx(p["original1"]) and p["version2"] == pytest.approx(p["original2"])
    assert p["runs_uri"] == pytest.approx(p["original1"])


def test_official_mlflow_client_extra_flow(server, tmp_path):
    """observed/extra-flow.json: datasets, text/dict/dir artifacts, runs:/ registration, registry
    reads and writes, stage and latest loads, listings, searches, resume/delete/restore, autolog."""
    url, _server_dir = server
    out = tmp_path / "extra.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LABKEEP_"))}
    env.update(MLFLOW_TRACKING_URI=url, MLFLOW_DISABLE_TELEMETRY="true", MLFLOW_HTTP_REQUEST_MAX_RETRIES="0")
    script = os.path.join(os.path.dirname(__file__), "extra_flow_script.py")
    proc = subprocess.run(
        [sys.executable, script, str(out)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(out.read_text())
    assert r["exp_tags"]["team"] == "vision"
    assert r["dataset"] == [["tiny", "training"]]
    assert r["outputs"] == [r["model_id"]]
    assert r["runs_uri_prediction_ok"] is True
    assert r["versions"] == ["1", "2"] and r["v1_status"] == "READY"
    assert r["search_models"] == ["ExtraModel"] and r["search_versions"] == ["1", "2"]
    assert r["get_version_source"].startswith("models:/") or r["model_id"] in r["get_version_source"]
    assert r["rm"] == {"tags": {"owner": "me"}, "description": "demo model", "aliases": {}}
    assert r["mv1"] == {"tags": {"validated": "yes"}, "description": "first", "stage": "Production"}
    assert r["stage_loads_ok"] is True
    assert r["latest_versions"] == ["1", "2"]
    assert {"texts", "cfg", "dir"} <= set(r["list_root"])
    assert r["list_dir"] == ["dir/c.txt", "dir/sub"]
    assert r["downloaded"] == ["c.txt", os.path.join("sub", "b.txt")]
    assert r["text"] == "alpha" and r["dict"] == {"k": 1}
    assert r["search_experiments"] == ["extra-exp"]
    assert r["search_all_runs"] == 1  # the one run so far (autolog comes later)
    assert r["search_logged_models"] == ["model"]
    assert r["deleted_stage"] == "deleted" and r["restored_stage"] == "active" and r["resumed_metric"] == 1.0
    assert r["autolog"]["has_metrics"] is True and r["autolog"]["tags"] == "LinearRegression"


def test_official_mlflow_client_full_flow_on_every_database(tmp_path, db_uri):
    """The same flow against a 2-worker server on each SQL backend (PostgreSQL, MariaDB too)."""
    if db_uri.startswith("sqlite"):
        pytest.skip("SQLite is covered by test_official_mlflow_client_full_flow")
    srv = tmp_path / "server"
    srv.mkdir()
    args = ["--backend-store-uri", db_uri, "--workers", "2"]
    with running_server(args, cwd=str(srv)) as (url, _proc):
        r = run_flow("mlflow", url, tmp_path)
    _assert_tracking(r, srv)
    assert r["registered_versions"] == ["1", "2"] and r["aliases"] == {"champion": "1"}
    assert r["v2"]["stage"] == "Staging" and r["v2"]["status"] == "READY"
    p = r["predictions"]
    assert p["alias"] == pytest.approx(p["original1"]) and p["version2"] == pytest.approx(p["original2"])
    assert p["runs_uri"] == pytest.approx(p["original1"])
