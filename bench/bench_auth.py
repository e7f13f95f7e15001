"""Auth cost, side by side: ``labkeep server`` with and without ``--app-name basic-auth`` and
``mlflow server`` with and without ``--app-name basic-auth`` (SQLite, same machine, same client).

For each of the four servers (fresh temporary directory, free loopback port, admin password from
``MLFLOW_AUTH_ADMIN_PASSWORD``), one keep-alive ``http.client`` connection sends, with HTTP Basic
credentials when auth is on:

* ``runs/log-metric``: ``--calls`` sequential calls, latency p50 / p99 per call;
* ``runs/get``: ``--calls`` sequential calls, latency p50 / p99;
* the server's CPU time per call for each (the server and its child processes, from ``/proc``), which
  moves far less with machine load than wall time.

Rounds alternate between the servers so a change in machine load hits all of them; figures are
medians over ``--rounds``. Printed: labkeep auth-on vs auth-off (target: within 20 %), and
labkeep vs mlflow with auth on and off (ratio > 1: labkeep faster).

Usage: ``python bench/bench_auth.py [--calls 500] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import PYTHON, Measure, clean_env, percentile, report, temp_dir, tree_cpu  # noqa: E402
from bench_server import VENV_BIN, Server, free_port  # noqa: E402

ADMIN_PW = "bench-admin-pw"
SIDES = ("labkeep", "labkeep+auth", "mlflow", "mlflow+auth")


class AuthServer(Server):
    """``bench_server.Server`` with the auth flag and the admin password in the environment."""

    def __init__(self, side: str, cwd: Path) -> None:
        import subprocess

        self.kind = side
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        auth = side.endswith("+auth")
        if side.startswith("labkeep"):
            cmd = [PYTHON, "-c", "from labkeep.cli.server import server; server()", "--port", str(self.port)]
        else:
            cmd = [str(VENV_BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(self.port),
                   "--backend-store-uri", "sqlite:///mlflow.db"]  # fmt: skip
        if auth:
            cmd += ["--app-name", "basic-auth"]
        env = clean_env(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", MLFLOW_AUTH_ADMIN_PASSWORD=ADMIN_PW,
            MLFLOW_FLASK_SERVER_SECRET_KEY="bench-secret",
        )
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )


class Client:
    def __init__(self, url: str, auth: bool) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        self.headers = {"Content-Type": "application/json"}
        if auth:
            self.headers["Authorization"] = "Basic " + base64.b64encode(f"admin:{ADMIN_PW}".encode()).decode()

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        self.conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=self.headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status} on {path}: {data[:300]!r}")
        return json.loads(data) if data else {}


def one_round(side: str, calls: int) -> dict[str, list[float]]:
    with temp_dir(f"bench-auth-{side.replace('+', '-')}") as cwd:
        server = AuthServer(side, cwd)
        try:
            server.wait_healthy(timeout=900)  # mlflow takes minutes to start on a loaded machine
            c = Client(server.url, side.endswith("+auth"))
            api = "/api/2.0/mlflow"
            run_id = c.call("POST", f"{api}/runs/create", {"experiment_id": "0", "start_time": 1})["run"]["info"][
                "run_id"
            ]
            c.call("GET", f"{api}/runs/get?run_id={run_id}")  # warm up (the auth cache, connections)
            log, get = [], []
            cpu0 = tree_cpu(server.proc.pid)
            for i in range(calls):
                body = {"run_id": run_id, "key": "loss", "value": 1.0 / (i + 1), "timestamp": i, "step": i}
                t0 = time.perf_counter()
                c.call("POST", f"{api}/runs/log-metric", body)
                log.append(time.perf_counter() - t0)
            cpu1 = tree_cpu(server.proc.pid)
            for _ in range(calls):
                t0 = time.perf_counter()
                c.call("GET", f"{api}/runs/get?run_id={run_id}")
                get.append(time.perf_counter() - t0)
            cpu2 = tree_cpu(server.proc.pid)
            return {"log_metric": log, "runs_get": get,
                    "cpu_log_metric": [(cpu1 - cpu0) / calls], "cpu_runs_get": [(cpu2 - cpu1) / calls]}  # fmt: skip
        finally:
            server.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    stats: dict[str, dict[str, list[float]]] = {s: {"log_metric_p50": [], "log_metric_p99": [],
                                                    "runs_get_p50": [], "runs_get_p99": [], "cpu_log_metric": [],
                                                    "cpu_runs_get": []} for s in SIDES}  # fmt: skip
    for r in range(args.rounds):
        for side in SIDES:
            got = one_round(side, args.calls)
            for op in ("log_metric", "runs_get"):
                stats[side][f"{op}_p50"].append(percentile(got[op], 50))
                stats[side][f"{op}_p99"].append(percentile(got[op], 99))
                stats[side][f"cpu_{op}"] += got[f"cpu_{op}"]
            print(f"round {r + 1}/{args.rounds} {side}: log_metric p50 {stats[side]['log_metric_p50'][-1] * 1e3:.2f} ms, "
                  f"runs/get p50 {stats[side]['runs_get_p50'][-1] * 1e3:.2f} ms; server CPU per call: log_metric "
              f"{stats[side]['cpu_log_metric'][-1] * 1e3:.3f} ms, runs/get {stats[side]['cpu_runs_get'][-1] * 1e3:.3f} ms",
              file=sys.stderr, flush=True)  # fmt: skip
    med = {s: {k: statistics.median(v) for k, v in d.items()} for s, d in stats.items()}
    measures = []
    for metric, label in (("log_metric_p50", "log-metric p50"), ("runs_get_p50", "runs/get p50"),
                          ("log_metric_p99", "log-metric p99"), ("runs_get_p99", "runs/get p99")):  # fmt: skip
        measures.append(Measure(f"{label}, auth off", "s", med["labkeep"][metric], med["mlflow"][metric]))
        measures.append(
            Measure(f"{label}, basic-auth on", "s", med["labkeep+auth"][metric], med["mlflow+auth"][metric])
        )
    for metric, label in (("cpu_log_metric", "log-metric server CPU"), ("cpu_runs_get", "runs/get server CPU")):
        measures.append(Measure(f"{label}, auth off", "s", med["labkeep"][metric], med["mlflow"][metric]))
        measures.append(
            Measure(f"{label}, basic-auth on", "s", med["labkeep+auth"][metric], med["mlflow+auth"][metric])
        )
    overhead = {
        metric: med["labkeep+auth"][metric] / med["labkeep"][metric] - 1 for metric in ("log_metric_p50", "runs_get_p50", "cpu_log_metric", "cpu_runs_get")
    }
    print("labkeep auth overhead (p50, on vs off): " + ", ".join(f"{k}: {v * 100:+.1f} %" for k, v in overhead.items()))
    print("mlflow auth overhead (p50, on vs off): " + ", ".join(
        f"{k}: {(med['mlflow+auth'][k] / med['mlflow'][k] - 1) * 100:+.1f} %" for k in overhead))  # fmt: skip
    report("auth", measures, {"medians": med, "labkeep_auth_overhead": overhead, "calls": args.calls,
                              "rounds": args.rounds})  # fmt: skip


if __name__ == "__main__":
    main()
