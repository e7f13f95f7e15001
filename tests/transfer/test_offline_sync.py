"""Offline logging and ``labkeep sync`` through a server restart: nothing logged is lost, nothing
is sent twice, and a growing run gets only its new points."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from labkeep import Client
from tests.server.helpers import free_port, running_server

HERE = os.path.dirname(__file__)


def _log(env: dict, *args: str, cwd: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "offline_script.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def _sync(env: dict, *args: str, cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from labkeep.cli import main; main()", "sync", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _history(url: str, run_id: str) -> list[int]:
    return sorted(m.step for m in Client(url).get_metric_history(run_id, "loss"))


@pytest.mark.timeout(600)
def test_offline_runs_sync_through_a_server_restart(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_args = [
        "--backend-store-uri",
        f"sqlite:///{tmp_path}/server.db",
        "--artifacts-destination",
        str(tmp_path / "art"),
    ]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LABKEEP_", "MLFLOW_"))}
    env = {
        **base,
        "LABKEEP_TRACKING_URI": url,
        "LABKEEP_MODE": "offline",
        "LABKEEP_OFFLINE_DIR": str(tmp_path / "off"),
    }
    work = str(tmp_path)

    with running_server(server_args, cwd=work, port=port):
        run_id = _log(env, "0", "10", cwd=work).stdout.strip().splitlines()[-1]
        with pytest.raises(Exception, match="(?i)not found|does not exist"):
            Client(url).get_run(run_id)  # logged offline: not on the server yet
        out = _sync(base | {"LABKEEP_OFFLINE_DIR": env["LABKEEP_OFFLINE_DIR"]}, cwd=work)
        assert out.returncode == 0, out.stdout + out.stderr
        assert f"Pushed 1 run(s) to {url}" in out.stdout and "10 metric point(s) sent" in out.stdout
        assert _history(url, run_id) == list(range(10))
        run = Client(url).get_run(run_id)
        assert run.data.params == {"where": "laptop"} and run.info.status == "FINISHED"
        assert "notes.txt" in [f.path for f in Client(url).list_artifacts(run_id)]

    # The server goes away; the run keeps growing offline, then the server comes back.
    _log(env, "10", "20", run_id, cwd=work)
    with running_server(server_args, cwd=work, port=port):
        out = _sync(base | {"LABKEEP_OFFLINE_DIR": env["LABKEEP_OFFLINE_DIR"]}, "--json", cwd=work)
        assert out.returncode == 0, out.stdout + out.stderr
        summary = json.loads(out.stdout)
        assert summary["moved"]["runs"] == 1
        assert summary["moved"]["points sent"] == 10  # the grown run sends its 10 new points only
        assert _history(url, run_id) == list(range(20))  # each point once
        again = _sync(
            base | {"LABKEEP_OFFLINE_DIR": env["LABKEEP_OFFLINE_DIR"]}, "--json", "--to", url, cwd=work
        )
        assert json.loads(again.stdout)["moved"].get("runs", 0) == 0
        assert json.loads(again.stdout)["moved"].get("points sent", 0) == 0
        assert _history(url, run_id) == list(range(20))


@pytest.mark.timeout(600)
def test_auto_mode_logs_locally_when_the_server_is_down_and_says_so_once(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LABKEEP_", "MLFLOW_"))}
    env = {
        **base,
        "LABKEEP_TRACKING_URI": url,
        "LABKEEP_MODE": "auto",
        "LABKEEP_OFFLINE_DIR": str(tmp_path / "off"),
    }
    proc = _log(env, "0", "5", cwd=str(tmp_path))
    run_id = proc.stdout.strip().splitlines()[-1]
    assert proc.stderr.count("does not answer") == 1 and "labkeep sync" in proc.stderr
    server_args = [
        "--backend-store-uri",
        f"sqlite:///{tmp_path}/server.db",
        "--artifacts-destination",
        str(tmp_path / "art"),
    ]
    with running_server(server_args, cwd=str(tmp_path), port=port):
        out = _sync(base | {"LABKEEP_OFFLINE_DIR": env["LABKEEP_OFFLINE_DIR"]}, cwd=str(tmp_path))
        assert out.returncode == 0, out.stdout + out.stderr
        assert _history(url, run_id) == list(range(5))
        # With the server up, auto mode logs straight to it.
        direct = _log(env, "0", "3", cwd=str(tmp_path)).stdout.strip().splitlines()[-1]
        assert _history(url, direct) == [0, 1, 2]


def test_server_refuses_records_pointing_outside_its_artifact_store(tmp_path):
    import httpx

    port = free_port()
    server_args = [
        "--backend-store-uri",
        f"sqlite:///{tmp_path}/server.db",
        "--artifacts-destination",
        str(tmp_path / "art"),
    ]
    with running_server(server_args, cwd=str(tmp_path), port=port) as (url, _proc):
        rec = {
            "name": "evil",
            "creation_time": 1,
            "last_updated_time": 1,
            "description": None,
            "tags": {},
            "aliases": {},
            "versions": [
                {"version": 1, "source": "/etc", "current_stage": "None", "status": "READY", "tags": {}}
            ],
        }
        resp = httpx.post(
            f"{url}/api/2.0/labkeep/transfer/apply", json={"kind": "registered_model", "record": rec}
        )
        assert resp.status_code == 400 and "inside the server's artifact root" in resp.json()["message"]
        bad = httpx.post(f"{url}/api/2.0/labkeep/transfer/apply", json={"kind": "nope", "record": {}})
        assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert (
            httpx.get(f"{url}/api/2.0/mlflow/registered-models/get", params={"name": "evil"}).status_code
            == 404
        )


def test_sync_without_a_target_asks_for_one_instead_of_crashing(tmp_path):
    # no sync-target file and a non-server tracking URI: the fallback reads the setting, then refuses cleanly
    folder = tmp_path / "offline"
    folder.mkdir()
    (folder / "labkeep.db").touch()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["LABKEEP_TRACKING_URI"] = f"sqlite:///{tmp_path}/other.db"
    proc = _sync(env, "--from", str(folder), cwd=str(tmp_path))
    assert proc.returncode != 0
    assert "--to http://HOST:PORT" in proc.stderr
    assert "Traceback" not in proc.stderr
