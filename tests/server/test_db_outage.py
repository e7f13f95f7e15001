"""The database going away under a running server (PostgreSQL behind a TCP relay the test cuts):
writes answer 503 with Retry-After, /health stays up, nothing acknowledged is lost, and the server
recovers by itself when the database is back."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from dbs import BACKENDS, temporary_database

from .helpers import running_server
from .tcp_proxy import TcpProxy

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL (LABKEEP_TEST_BACKENDS)")
API = "/api/2.0/mlflow"


def test_database_outage_gives_503_with_retry_after_and_the_server_recovers(tmp_path):
    proxy = TcpProxy(("127.0.0.1", 5432))
    try:
        with temporary_database("postgresql", tmp_path) as uri:
            via_proxy = uri.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
            with running_server(["--backend-store-uri", via_proxy], cwd=str(tmp_path)) as (url, _proc):
                api = url + API
                exp = httpx.post(api + "/experiments/create", json={"name": "outage"}).json()["experiment_id"]
                run_id = httpx.post(api + "/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]

                def log(step: int) -> httpx.Response:
                    body = {"run_id": run_id, "key": "m", "value": float(step), "timestamp": 1, "step": step}
                    return httpx.post(api + "/runs/log-metric", json=body, timeout=30)

                acked = [0] if log(0).status_code == 200 else []
                proxy.cut()
                failed = [log(1), log(2), httpx.get(api + "/runs/get", params={"run_id": run_id}, timeout=30)]
                for resp in failed:
                    assert resp.status_code == 503, resp.text
                    assert resp.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
                    assert int(resp.headers["Retry-After"]) > 0
                assert httpx.get(url + "/health", timeout=5).status_code == 200

                # labkeep's client retries a 503 (honouring Retry-After) until the database is back.
                from labkeep.client import Client

                client = Client(tracking_uri=url)
                done: list[bool] = []
                writer = threading.Thread(
                    target=lambda: done.append(client.log_metric(run_id, "m", 3.0, timestamp=1, step=3) is None)
                )
                writer.start()
                time.sleep(1.5)
                proxy.restore()
                writer.join(120)
                assert done == [True]
                acked.append(3)
                assert log(4).status_code == 200  # no restart needed
                acked.append(4)
                hist = httpx.get(api + "/metrics/get-history", params={"run_id": run_id, "metric_key": "m"}).json()
                assert sorted(p["step"] for p in hist["metrics"]) == acked
    finally:
        proxy.close()
