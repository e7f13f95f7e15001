"""The route table: direct handler references, one handler per (method, path), and an event loop
that never waits on the database."""

from __future__ import annotations

import inspect
import sqlite3
import subprocess
import sys
import threading
import time

import httpx

from labkeep.server.api.routes import AJAX_ONLY_ROUTES, ARTIFACT_ROUTES, ROUTES, TOP_ROUTES
from labkeep.server.app import full_route_table

from .helpers import SERVER_CMD, running_server


def test_every_route_names_a_handler_function_of_the_api_package():
    for route in [*ROUTES, *ARTIFACT_ROUTES, *AJAX_ONLY_ROUTES, *TOP_ROUTES]:
        assert inspect.isfunction(route.handler), route
        assert route.handler.__module__.startswith("labkeep.server.api."), route
        params = list(inspect.signature(route.handler, follow_wrapped=False).parameters)
        if inspect.iscoroutinefunction(route.handler):
            assert params[:3] == ["ctx", "request", "params"], route
        else:
            assert params[:2] == ["ctx", "req"], route


def test_no_method_and_path_is_listed_twice():
    seen = set()
    for route in full_route_table(""):
        for method in route.methods:
            assert (method, route.path) not in seen, (method, route.path)
            seen.add((method, route.path))
    assert ("GET", "/ajax-api/2.0/mlflow/runs/get") in seen
    assert ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{path}") in seen


_HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


def test_health_and_reads_answer_while_another_process_holds_the_write_lock(tmp_path):
    db = tmp_path / "store.db"
    with running_server(["--backend-store-uri", f"sqlite:///{db}"], cwd=str(tmp_path)) as (url, _proc):
        api = url + "/api/2.0/mlflow"
        exp = httpx.post(api + "/experiments/create", json={"name": "lock"}).json()["experiment_id"]
        run_id = httpx.post(api + "/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
        assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"

        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLD_LOCK, str(db), "3"], stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout.readline().strip() == "locked"
        write_status: list[int] = []
        writer = threading.Thread(
            target=lambda: write_status.append(
                httpx.post(
                    api + "/runs/log-metric",
                    json={"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0},
                    timeout=60,
                ).status_code
            )
        )
        writer.start()
        time.sleep(0.3)  # the write is now waiting for the lock inside the server
        assert writer.is_alive()
        slowest = 0.0
        for _ in range(10):
            t0 = time.perf_counter()
            assert httpx.get(url + "/health", timeout=5).status_code == 200
            got = httpx.get(api + "/runs/get", params={"run_id": run_id}, timeout=5)
            slowest = max(slowest, time.perf_counter() - t0)
            assert got.status_code == 200
        # While the lock is held (3 s), health and a read never wait for it.
        assert slowest < 0.5, slowest
        holder.wait(30)
        writer.join(60)
        assert write_status == [200]
        hist = httpx.get(api + "/metrics/get-history", params={"run_id": run_id, "metric_key": "m"}).json()
        assert [m["value"] for m in hist["metrics"]] == [1.0]


def test_thread_pool_size_setting_bounds_concurrent_store_calls(tmp_path):
    """With ``--threads 1`` a read queues behind a write waiting for the lock; /health never does."""
    db = tmp_path / "store.db"
    args = ["--backend-store-uri", f"sqlite:///{db}", "--threads", "1"]
    with running_server(args, cwd=str(tmp_path)) as (url, _proc):
        api = url + "/api/2.0/mlflow"
        exp = httpx.post(api + "/experiments/create", json={"name": "pool"}).json()["experiment_id"]
        run_id = httpx.post(api + "/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLD_LOCK, str(db), "2"], stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout.readline().strip() == "locked"
        metric = {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0}
        writer = threading.Thread(target=lambda: httpx.post(api + "/runs/log-metric", json=metric, timeout=60))
        writer.start()
        time.sleep(0.3)  # the only worker thread now waits for the lock
        t0 = time.perf_counter()
        assert httpx.get(url + "/health", timeout=5).status_code == 200
        health = time.perf_counter() - t0
        got = httpx.get(api + "/runs/get", params={"run_id": run_id}, timeout=30)
        read = time.perf_counter() - t0
        assert got.status_code == 200
        assert health < 0.5, health
        assert read > 1.0, f"the read did not wait for the single worker thread ({read:.2f} s)"
        holder.wait(30)
        writer.join(60)


def test_bad_thread_pool_size_is_a_usage_error(tmp_path):
    for bad in ("0", "many"):
        proc = subprocess.run(
            [*SERVER_CMD, "--threads", bad, "--backend-store-uri", f"sqlite:///{tmp_path}/s.db"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2, proc.stderr
        assert "thread-pool size" in proc.stderr and "Traceback" not in proc.stderr
