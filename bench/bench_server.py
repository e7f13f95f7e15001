"""Tracking server side by side: ``labkeep server`` vs ``mlflow server`` (SQLite backend, same machine).

Each server starts in its own fresh temporary directory on a free loopback port with its default
SQLite store, and is driven over HTTP by the same client code: one keep-alive ``http.client``
connection per client, each request sent in one write (a thin client, so the figures show the
servers rather than the client library):

* start-up: launch → first ``200`` from ``/health`` (median of ``--startup-trials`` fresh starts)
* idle RSS of the whole process tree (server + workers + sidecars) after start-up
* 1,000 sequential ``runs/log-metric`` calls from one client (calls/s)
* 4 concurrent clients × 200 ``runs/log-batch`` requests of 100 metrics (points/s)
* ``GET runs/get`` latency p50 / p99 (500 sequential calls)

Usage: ``python bench/bench_server.py [--quick] [--write-readme]``.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import BENCH_DIR, PYTHON, Measure, clean_env, machine_info, percentile, report, temp_dir  # noqa: E402

VENV_BIN = Path(PYTHON).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(kind: str, port: int) -> list[str]:
    if kind == "labkeep":
        return [PYTHON, "-c", "from labkeep.cli.server import server; server()", "--port", str(port)]
    return [
        str(VENV_BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", "sqlite:///mlflow.db",
    ]  # fmt: skip


class Server:
    """A server process in its own session (so the whole tree can be measured and stopped)."""

    def __init__(self, kind: str, cwd: Path) -> None:
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = clean_env(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            server_command(kind, self.port),
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_healthy(self, timeout: float = 120.0) -> float:
        import requests

        deadline = self.t0 + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited with {self.proc.returncode}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return time.perf_counter() - self.t0
            except requests.RequestException:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"{self.kind} server not healthy after {timeout}s")

    def tree_rss(self) -> tuple[int, int]:
        """(bytes of RSS summed over the process tree, number of processes)."""
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
                children.setdefault(ppid, []).append(int(entry))
        todo, total, count = [self.proc.pid], 0, 0
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            try:
                with open(f"/proc/{pid}/status") as f:
                    m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
            except OSError:
                continue
            if m:
                total += int(m.group(1)) * 1024
                count += 1
        return total, count

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)


API = "/api/2.0/mlflow"


class _Resp:
    def __init__(self, status: int, body: bytes) -> None:
        self.status_code, self.content = status, body

    def json(self) -> dict:
        import json

        return json.loads(self.content)

    def raise_for_status(self) -> None:
        if self.status_code != 200:
            raise RuntimeError(f"HTTP {self.status_code}: {self.content[:200]!r}")


class Conn:
    """A keep-alive HTTP/1.1 connection with a requests-like surface (``get``/``post`` by full URL)."""

    def __init__(self) -> None:
        self.conn = None

    def _request(self, method: str, url: str, body: bytes | None, headers: dict) -> _Resp:
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if self.conn is None:
            self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):
            # The server closed a kept-alive connection (or restarted a worker): reconnect once.
            self.conn.close()
            self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        return _Resp(resp.status, resp.read())

    def get(self, url: str, params: dict | None = None) -> _Resp:
        from urllib.parse import urlencode

        return self._request("GET", url + ("?" + urlencode(params) if params else ""), None, {})

    def post(
        self, url: str, json: dict | None = None, data: bytes | None = None, headers: dict | None = None
    ) -> _Resp:
        import json as _json

        body = data if data is not None else _json.dumps(json).encode()
        return self._request("POST", url, body, {"Content-Type": "application/json"})


def create_run(session, url: str) -> str:
    r = session.post(
        f"{url}{API}/runs/create", json={"experiment_id": "0", "start_time": int(time.time() * 1000)}
    )
    r.raise_for_status()
    return r.json()["run"]["info"]["run_id"]


def sequential_log_metric(url: str, n: int) -> float:
    s = Conn()
    run_id = create_run(s, url)
    t0 = time.perf_counter()
    for i in range(n):
        body = {
            "run_id": run_id,
            "run_uuid": run_id,
            "key": "loss",
            "value": 1.0 / (i + 1),
            "timestamp": i,
            "step": i,
        }
        s.post(f"{url}{API}/runs/log-metric", json=body).raise_for_status()
    return n / (time.perf_counter() - t0)


def _batch_client(url: str, run_id: str, requests_per_client: int, points: int, start, ready, out) -> None:
    """One load-generating process: pre-encoded bodies, one keep-alive session."""
    import json

    s = Conn()
    bodies = [
        json.dumps(
            {
                "run_id": run_id,
                "metrics": [
                    {"key": f"m{j % 10}", "value": float(j), "timestamp": r, "step": r * points + j}
                    for j in range(points)
                ],
            }
        ).encode()
        for r in range(requests_per_client)
    ]
    headers = {"Content-Type": "application/json"}
    ready.put(True)
    start.wait()
    t0 = time.perf_counter()
    for body in bodies:
        s.post(f"{url}{API}/runs/log-batch", data=body, headers=headers).raise_for_status()
    out.put(time.perf_counter() - t0)


def concurrent_log_batch(url: str, clients: int, requests_per_client: int, points: int) -> float:
    """``clients`` separate processes (so the client side is not limited by one GIL)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    run_ids = [create_run(Conn(), url) for _ in range(clients)]
    start, ready, out = ctx.Event(), ctx.Queue(), ctx.Queue()
    procs = [
        ctx.Process(
            target=_batch_client, args=(url, run_ids[c], requests_per_client, points, start, ready, out)
        )
        for c in range(clients)
    ]
    for p in procs:
        p.start()
    for _ in procs:  # every client has encoded its bodies before the clock starts
        ready.get(timeout=300)
    t0 = time.perf_counter()
    start.set()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0
    if any(p.exitcode != 0 for p in procs) or out.qsize() != clients:
        raise RuntimeError("a log_batch client failed")
    return clients * requests_per_client * points / elapsed


def runs_get_latencies(url: str, n: int) -> list[float]:
    s = Conn()
    run_id = create_run(s, url)
    s.post(
        f"{url}{API}/runs/log-batch",
        json={
            "run_id": run_id,
            "metrics": [{"key": f"m{i}", "value": 1.0, "timestamp": 1, "step": 0} for i in range(20)],
            "params": [{"key": f"p{i}", "value": "v"} for i in range(20)],
            "tags": [{"key": f"t{i}", "value": "v"} for i in range(10)],
        },
    ).raise_for_status()
    out = []
    for _ in range(n + 10):
        t0 = time.perf_counter()
        s.get(f"{url}{API}/runs/get", params={"run_id": run_id, "run_uuid": run_id}).raise_for_status()
        out.append(time.perf_counter() - t0)
    return out[10:]


def measure(kind: str, args: argparse.Namespace) -> dict:
    trials = args.startup_trials if kind == "labkeep" else args.mlflow_startup_trials
    startups = []
    result: dict = {}
    for i in range(trials):
        with temp_dir(f"bench-server-{kind}-") as cwd:
            server = Server(kind, cwd)
            try:
                startups.append(server.wait_healthy())
                if i < trials - 1:
                    continue
                time.sleep(args.idle_wait)
                rss, procs = server.tree_rss()
                result.update(idle_rss=rss, processes=procs)
                print(
                    f"[{kind}] started in {startups[-1]:.2f}s, {procs} processes, {rss / 2**20:.0f} MiB",
                    file=sys.stderr,
                )
                result["log_metric_calls_per_s"] = sequential_log_metric(server.url, args.log_metric_calls)
                print(f"[{kind}] log_metric {result['log_metric_calls_per_s']:.0f} calls/s", file=sys.stderr)
                result["log_batch_points_per_s"] = concurrent_log_batch(
                    server.url, 4, args.batch_requests, 100
                )
                print(f"[{kind}] log_batch {result['log_batch_points_per_s']:.0f} points/s", file=sys.stderr)
                lat = runs_get_latencies(server.url, args.get_calls)
                result["runs_get_p50"] = percentile(lat, 50)
                result["runs_get_p99"] = percentile(lat, 99)
            finally:
                server.stop()
    result["startup"] = sorted(startups)[len(startups) // 2]
    result["startup_trials"] = startups
    return result


def write_readme(measures: list[Measure], info: dict, args: argparse.Namespace) -> None:
    readme = BENCH_DIR / "README.md"
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"

    def fmt(m: Measure, v: float | None) -> str:
        if v is None:
            return "-"
        if m.unit == "s":
            return f"{v * 1e3:.1f} ms" if v < 1 else f"{v:.2f} s"
        if m.unit == "B":
            return f"{v / 2**20:,.0f} MiB"
        return f"{v:,.0f} {m.unit}"

    rows = "\n".join(
        f"| {m.name} | {fmt(m, m.labkeep)} | {fmt(m, m.mlflow)} | {m.ratio:.1f}× | ≥ {m.target:g}× |"
        if m.ratio is not None
        else f"| {m.name} | - | - | - | |"
        for m in measures
    )
    section = (
        "## Server\n\n"
        "`bench/bench_server.py` (`--quick` for smaller counts): `labkeep server` (1 worker) vs `mlflow server` "
        "(its defaults: 4 uvicorn workers + job sidecar), each on a fresh SQLite store in its own temporary "
        "directory, on free loopback ports, driven over HTTP by the same thin client "
        "(one keep-alive `http.client` connection per client, each request in one write). Start-up = launch until the first 200 from `/health` "
        f"(median of {args.startup_trials} labkeep starts, {args.mlflow_startup_trials} mlflow start(s)); "
        "idle RSS summed over the whole process tree.\n\n"
        "| workload (sqlite) | labkeep | mlflow 3.17.2 | ratio | target |\n|---|---|---|---|---|\n"
        f"{rows}\n\n"
        f"Measured {info['date']} on the {info['cpus']}-core dev machine (shared with other jobs; "
        f"1-minute load average {os.getloadavg()[0]:.1f} at the end of the run), Python {info['python']}. "
        "On a busy machine the p99 figures mostly measure CPU scheduling delays.\n"
    )
    pattern = re.compile(r"## Server\n.*?(?=\n## |\Z)", re.S)
    text = (
        pattern.sub(section.rstrip("\n") + "\n", text)
        if pattern.search(text)
        else text.rstrip("\n") + "\n\n" + section
    )
    readme.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, one start-up trial each")
    parser.add_argument("--write-readme", action="store_true", help="write the table into bench/README.md")
    args = parser.parse_args()
    args.startup_trials = 1 if args.quick else 3
    args.mlflow_startup_trials = 1
    args.log_metric_calls = 200 if args.quick else 1000
    args.batch_requests = 40 if args.quick else 200
    args.get_calls = 100 if args.quick else 500
    args.idle_wait = 2.0 if args.quick else 5.0

    lk = measure("labkeep", args)
    ml = measure("mlflow", args)
    measures = [
        Measure("start-up to healthy /health", "s", lk["startup"], ml["startup"], True, 10),
        Measure("idle RSS of the process tree", "B", lk["idle_rss"], ml["idle_rss"], True, 10,
                {"processes": {"labkeep": lk["processes"], "mlflow": ml["processes"]}}),
        Measure(f"sequential log_metric ({args.log_metric_calls} calls)", "calls/s",
                lk["log_metric_calls_per_s"], ml["log_metric_calls_per_s"], False, 20),
        Measure(f"4 clients x {args.batch_requests} log_batch of 100", "points/s",
                lk["log_batch_points_per_s"], ml["log_batch_points_per_s"], False, 10),
        Measure("runs/get p50", "s", lk["runs_get_p50"], ml["runs_get_p50"], True, 10),
        Measure("runs/get p99", "s", lk["runs_get_p99"], ml["runs_get_p99"], True, 10),
    ]  # fmt: skip
    report(
        "server",
        measures,
        {"startup_trials": {"labkeep": lk["startup_trials"], "mlflow": ml["startup_trials"]}},
    )
    if args.write_readme:
        write_readme(measures, machine_info(), args)


if __name__ == "__main__":
    main()
