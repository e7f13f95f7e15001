"""Real ``labkeep server`` processes: every backend, several workers, clean shutdown, SIGKILL durability."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx

from labkeep.entities import Metric, Param, RunTag
from labkeep.stores.rest.http import HostCreds, RestClient, RetryPolicy
from labkeep.stores.rest.tracking import RestTrackingStore

from .helpers import running_server


def _store(url: str, retries: int = 3) -> RestTrackingStore:
    store = RestTrackingStore(HostCreds(url))
    store.rest.retry = RetryPolicy(max_retries=retries, backoff_factor=0.05, backoff_jitter=0.0, timeout=30)
    return store


def test_defaults_print_url_and_stop_cleanly_on_sigterm(tmp_path):
    with running_server([], cwd=str(tmp_path)) as (url, proc):
        store = _store(url)
        exp_id = store.create_experiment("cwd-default")
        assert store.get_experiment(exp_id).artifact_location == f"mlflow-artifacts:/{exp_id}"
        assert httpx.get(url + "/version").text == "3.17.2"
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(15) == 0
        out = proc.stdout.read().decode()
    assert f"{url}/" in out
    assert (tmp_path / "labkeep.db").exists()  # the embedded store of the cwd


def test_bad_backend_uri_exits_with_one_line_error(tmp_path):
    import subprocess

    from .helpers import SERVER_CMD

    proc = subprocess.run(
        [*SERVER_CMD, "--backend-store-uri", "nosuch://x", "--port", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "nosuch" in proc.stderr


def _log_concurrently(url: str, run_id: str, threads: int = 4, batches: int = 10) -> None:
    def worker(t: int) -> None:
        store = _store(url)
        for i in range(batches):
            metrics = [Metric(f"t{t}", float(i * 100 + j), 1, i * 100 + j) for j in range(100)]
            store.log_batch(run_id, metrics, [Param(f"p{t}_{i}", "x")], [RunTag(f"tag{t}", str(i))])
        store.close()

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()


def test_two_workers_on_every_backend(tmp_path, db_uri):
    args = ["--backend-store-uri", db_uri, "--artifacts-destination", str(tmp_path / "art"), "--workers", "2"]
    with running_server(args, cwd=str(tmp_path)) as (url, _proc):
        store = _store(url)
        exp_id = store.create_experiment("multi")
        run_id = store.create_run(exp_id, "u", None, [], "r").info.run_id
        _log_concurrently(url, run_id)
        run = store.get_run(run_id)
        assert len([k for k in run.data.params if k.startswith("p")]) == 40
        for t in range(4):
            assert run.data.metrics[f"t{t}"] == 999.0
            assert len(store.get_metric_history(run_id, f"t{t}")) == 1000
        from labkeep.artifacts.http import HttpArtifactRepository

        f = tmp_path / "a.txt"
        f.write_text("via proxy")
        repo = HttpArtifactRepository(store.get_run(run_id).info.artifact_uri, tracking_uri=url)
        repo.log_artifact(str(f), "sub")
        assert [i.path for i in repo.list_artifacts()] == ["sub"]
        out = repo.download_artifacts("sub/a.txt", str(tmp_path / "dl"))
        assert open(out).read() == "via proxy"


def test_sigkill_loses_no_acknowledged_batch(tmp_path, sqlite_uri):
    """Clients log batches while the server is SIGKILLed; every batch answered 200 must be in the DB."""
    args = [
        "--backend-store-uri",
        sqlite_uri,
        "--artifacts-destination",
        str(tmp_path / "art"),
        "--workers",
        "2",
    ]
    acked: list[tuple[int, int]] = []
    lock = threading.Lock()
    with running_server(args, cwd=str(tmp_path)) as (url, proc):
        setup = _store(url)
        run_id = setup.create_run("0", "u", None, [], "durable").info.run_id
        stop = threading.Event()

        def client(t: int) -> None:
            rest = RestClient(HostCreds(url), retry=RetryPolicy(max_retries=0, timeout=10))
            i = 0
            while not stop.is_set():
                body = {
                    "run_id": run_id,
                    "metrics": [
                        {"key": f"c{t}", "value": float(j), "timestamp": i, "step": i * 50 + j}
                        for j in range(50)
                    ],
                    "params": [{"key": f"p{t}_{i}", "value": "v"}],
                }
                try:
                    rest.call("POST", "/api/2.0/mlflow/runs/log-batch", body)
                except Exception:
                    return  # server gone: this batch was never acknowledged
                with lock:
                    acked.append((t, i))
                i += 1

        threads = [threading.Thread(target=client, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        time.sleep(1.5)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        stop.set()
        for th in threads:
            th.join(15)
    assert len(acked) > 20, "clients logged too little before the kill to prove anything"
    from labkeep.stores.sql.tracking import SqlTrackingStore

    store = SqlTrackingStore(sqlite_uri, str(tmp_path / "art"))
    try:
        run = store.get_run(run_id)
        for t, i in acked:
            assert run.data.params.get(f"p{t}_{i}") == "v", (t, i)
        for t in range(4):
            steps = {m.step for m in store.get_metric_history(run_id, f"c{t}")}
            for tt, i in acked:
                if tt == t:
                    assert set(range(i * 50, i * 50 + 50)) <= steps
    finally:
        store.close()


def test_keep_alive_requests_do_not_stall(tmp_path):
    """No delayed-ACK stall on a reused connection (mlflow's server answers ~40 ms late there)."""
    import statistics

    import requests

    with running_server([], cwd=str(tmp_path)) as (url, _proc):
        s = requests.Session()
        run_id = s.post(f"{url}/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}).json()["run"][
            "info"
        ]["run_id"]
        times = []
        for i in range(40):
            t0 = time.perf_counter()
            body = {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": i, "step": i}
            assert s.post(f"{url}/api/2.0/mlflow/runs/log-metric", json=body).status_code == 200
            times.append(time.perf_counter() - t0)
        assert statistics.median(times[5:]) < 0.025, times


def test_static_prefix_and_ui_command(tmp_path):
    """``labkeep ui --static-prefix /lk``: every route moves below the prefix; clients follow it."""
    import subprocess
    import sys

    from .helpers import free_port, wait_healthy

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from labkeep.cli.server import ui; ui()",
            "--port",
            str(port),
            "--static-prefix",
            "/lk",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, prefix="/lk")
        store = _store(url + "/lk")
        exp_id = store.create_experiment("prefixed")
        assert store.get_experiment(exp_id).name == "prefixed"
        assert (
            httpx.get(f"{url}/api/2.0/mlflow/experiments/get", params={"experiment_id": exp_id}).status_code
            == 404
        )
        assert httpx.get(f"{url}/lk/").status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
