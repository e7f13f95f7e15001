"""Scoring server: ``labkeep models serve`` vs ``mlflow models serve --env-manager local``.

The same scikit-learn model directory (saved once by mlflow with a signature, skops format) is
served by each side in turn on a free loopback port. Measured per side:

- start-up: launch of the CLI → first 200 from ``/ping`` (median of ``--starts`` launches, 5);
- latency: p50/p99 of 500 sequential 1-row ``dataframe_split`` requests over one keep-alive
  connection (after 50 warm-up requests);
- throughput: rows/s of 100 sequential 1,000-row ``dataframe_split`` requests (1,000 rows over
  the median request time; the mean-based figure is in the JSON as ``rows_per_s_mean``).

The two sides are interleaved (starts alternate; with both servers up, each request to one is
followed by the same request to the other), so load from other jobs on a shared machine falls
on both alike.

Both sides get the same bytecode cache (``PYTHONPYCACHEPREFIX``) so source compilation on this
machine (``PYTHONDONTWRITEBYTECODE=1``) is not counted. Usage: ``python bench/bench_serving.py
[--quick]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    CACHE_DIR,
    PYTHON,
    Measure,
    clean_env,
    percentile,
    report,
    run_python,
    temp_dir,
    tree_cpu,
)

BIN = os.path.dirname(PYTHON)
N_FEATURES = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _save_model(work: Path) -> Path:
    """Train a LogisticRegression on 8 features and save it with mlflow (signature + example)."""
    code = f"""
import numpy as np, pandas as pd, mlflow.sklearn
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(500, {N_FEATURES})), columns=[f"f{{i}}" for i in range({N_FEATURES})])
y = (X.sum(axis=1) > 0).astype(int)
m = LogisticRegression().fit(X, y)
mlflow.sklearn.save_model(m, "model", input_example=X.head(3), pip_requirements=["scikit-learn", "skops"])
"""
    run_python(["-c", code], work, _env())
    return work / "model"


def _env() -> dict[str, str]:
    path = BIN + os.pathsep + os.environ.get("PATH", "")  # mlflow execs `uvicorn` from PATH
    return clean_env(PYTHONPYCACHEPREFIX=str(CACHE_DIR / "pycache"), PYTHONWARNINGS="ignore", PATH=path)


def _command(lib: str, model: Path, port: int) -> list[str]:
    exe = os.path.join(BIN, lib)
    cmd = [exe, "models", "serve", "-m", str(model), "--host", "127.0.0.1", "-p", str(port)]
    return cmd + ["--env-manager", "local"]


def _wait_ping(port: int, proc: subprocess.Popen, started: float, timeout: float = 180) -> float:
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return time.perf_counter() - started
        except OSError:
            pass
        if time.perf_counter() - started > timeout:
            raise RuntimeError("no /ping answer")
        time.sleep(0.01)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _start(lib: str, model: Path, work: Path) -> tuple[subprocess.Popen, int, float, float]:
    port = free_port()
    started = time.perf_counter()
    log = open(work / f"{lib}-server.log", "wb")
    proc = subprocess.Popen(
        _command(lib, model, port), cwd=work, env=_env(), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wall = _wait_ping(port, proc, started)
        return proc, port, wall, tree_cpu(proc.pid)
    except RuntimeError as e:
        _stop(proc)
        raise RuntimeError(f"{lib}: {e}\n{(work / f'{lib}-server.log').read_text()[-3000:]}")


def _body(rows: int, seed: int) -> bytes:
    import random

    rnd = random.Random(seed)
    data = [[round(rnd.gauss(0, 1), 6) for _ in range(N_FEATURES)] for _ in range(rows)]
    cols = [f"f{i}" for i in range(N_FEATURES)]
    return json.dumps({"dataframe_split": {"columns": cols, "data": data}}).encode()


def _post(conn: http.client.HTTPConnection, body: bytes) -> bytes:
    conn.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    out = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"HTTP {resp.status}: {out[:300]!r}")
    return out


def measure(model: Path, work: Path, starts: int, requests: int, big: int) -> dict:
    """Both sides, interleaved (start A, start B, …; request A, request B, …) so that load from
    other processes on the machine hits both sides alike."""
    libs = ("labkeep", "mlflow")
    startup: dict[str, list[float]] = {lib: [] for lib in libs}
    cpu: dict[str, list[float]] = {lib: [] for lib in libs}
    for _ in range(starts - 1):
        for lib in libs:
            proc, _port, t, c = _start(lib, model, work)
            startup[lib].append(t)
            cpu[lib].append(c)
            _stop(proc)
    procs, conns = {}, {}
    try:
        for lib in libs:
            proc, port, t, c = _start(lib, model, work)
            startup[lib].append(t)
            cpu[lib].append(c)
            procs[lib] = proc
            conns[lib] = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        small = [_body(1, i) for i in range(requests)]
        for b in small[:50]:
            for lib in libs:
                _post(conns[lib], b)
        lat: dict[str, list[float]] = {lib: [] for lib in libs}
        for b in small:
            for lib in libs:
                t0 = time.perf_counter()
                _post(conns[lib], b)
                lat[lib].append(time.perf_counter() - t0)
        large = [_body(1000, 10_000 + i) for i in range(5)]
        spent: dict[str, list[float]] = {lib: [] for lib in libs}
        for lib in libs:
            _post(conns[lib], large[0])
        for i in range(big):
            for lib in libs:
                t0 = time.perf_counter()
                out = _post(conns[lib], large[i % len(large)])
                spent[lib].append(time.perf_counter() - t0)
                assert len(json.loads(out)["predictions"]) == 1000
    finally:
        for lib, proc in procs.items():
            if lib in conns:
                conns[lib].close()
            _stop(proc)
    results = {}
    for lib in libs:
        times = sorted(startup[lib])
        results[lib] = {
            "startup_s": times[len(times) // 2],
            "startup_all_s": startup[lib],
            "startup_cpu_s": sorted(cpu[lib])[len(cpu[lib]) // 2],
            "p50_s": percentile(lat[lib], 50),
            "p99_s": percentile(lat[lib], 99),
            # median request time: robust to other jobs' CPU bursts on a shared machine
            "rows_per_s": 1000 / percentile(spent[lib], 50),
            "rows_per_s_mean": big * 1000 / sum(spent[lib]),
        }
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 start, 200 requests, 10 big payloads")
    ap.add_argument("--starts", type=int, default=5)
    args = ap.parse_args()
    starts, requests, big = (1, 200, 10) if args.quick else (args.starts, 500, 100)
    with temp_dir("serving") as work:
        model = _save_model(work)
        results = measure(model, work, starts, requests, big)
    lk, ml = results["labkeep"], results["mlflow"]
    measures = [
        Measure("start-up: launch -> first /ping", "s", lk["startup_s"], ml["startup_s"], target=3),
        Measure("start-up CPU time (process tree)", "s", lk["startup_cpu_s"], ml["startup_cpu_s"]),
        Measure(
            f"1-row dataframe_split p50 ({requests} sequential)", "s", lk["p50_s"], ml["p50_s"], target=3
        ),
        Measure(
            f"1-row dataframe_split p99 ({requests} sequential)", "s", lk["p99_s"], ml["p99_s"], target=3
        ),
        Measure(
            "1,000-row payloads throughput", "rows/s", lk["rows_per_s"], ml["rows_per_s"], False, target=2
        ),
    ]
    report("serving", measures, {"raw": results, "features": N_FEATURES})


if __name__ == "__main__":
    main()
