"""Moving an MLflow history into labkeep, side by side with MLflow's own ways of moving it.

Workloads (each side in fresh subprocesses, medians over ``--trials``):

- **db import**: an MLflow SQLite store (schema made by mlflow 3.17.2 itself, rows bulk-loaded:
  ``--runs`` runs × 10 params × 10 metrics × 100 steps) into labkeep's embedded store with
  ``labkeep import mlflow``, against MLflow's only DB-to-DB way: an ``MlflowClient`` copy loop
  (search_runs, get_metric_history, log_batch into a new SQLite store) over ``--mlflow-runs`` runs.
  Compared as metric points per second.
- **file import**: an ``mlruns/`` folder written by mlflow's FileStore (``--file-runs`` runs, same
  shape) into labkeep with ``labkeep import mlflow``, against ``mlflow migrate-filestore`` into
  SQLite. Compared as wall time of the whole command.
- **sync**: ``labkeep sync`` of an offline store of ``--sync-runs`` runs (same shape) to a local
  ``labkeep server``, against pushing the same points with ``Client.log_batch`` (1,000 per call)
  to the same server. Target: sync within 2x of log_batch (ratio >= 0.5).

``python bench/bench_transfer.py [--runs 1000] [--mlflow-runs 50] [--file-runs 200] [--sync-runs 200]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import CACHE_DIR, Measure, clean_env, median, report, run_json, run_python, temp_dir  # noqa: E402

PARAMS, METRICS, STEPS = 10, 10, 100
POINTS_PER_RUN = METRICS * STEPS

BUILD_DB = r"""
import sqlite3, sys, uuid, random
from mlflow import MlflowClient
path, runs = sys.argv[1], int(sys.argv[2])
c = MlflowClient(f"sqlite:///{path}")
exp = c.create_experiment("history")
c = None
db = sqlite3.connect(path)
t0 = 1_700_000_000_000
rng = random.Random(7)
for r in range(runs):
    rid = uuid.uuid4().hex
    db.execute("INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status,"
               " start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id)"
               " VALUES (?, ?, 'LOCAL', '', '', 'bench', 'FINISHED', ?, ?, '', 'active', ?, ?)",
               (rid, f"run-{r}", t0 + r, t0 + r + 1000, f"/nonexistent/{rid}/artifacts", int(exp)))
    db.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                   [(f"p{i}", str(rng.random()), rid) for i in range(%(params)d)])
    db.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                   [("mlflow.runName", f"run-{r}", rid), ("mlflow.user", "bench", rid)])
    pts = [(f"m{k}", rng.random(), t0 + s, rid, s, 0) for k in range(%(metrics)d) for s in range(%(steps)d)]
    db.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)", pts)
    db.executemany("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, 0, ?)",
                   [(f"m{k}", 0.5, t0 + %(steps)d - 1, %(steps)d - 1, rid) for k in range(%(metrics)d)])
    if r % 200 == 0:
        db.commit()
db.commit()
"""

BUILD_FILES = r"""
import os, sys, random
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
path, runs = sys.argv[1], int(sys.argv[2])
c = MlflowClient(path)
exp = c.create_experiment("history")
rng = random.Random(7)
t0 = 1_700_000_000_000
for r in range(runs):
    run = c.create_run(exp, run_name=f"run-{r}")
    rid = run.info.run_id
    c.log_batch(rid, params=[Param(f"p{i}", str(rng.random())) for i in range(%(params)d)])
    pts = [Metric(f"m{k}", rng.random(), t0 + s, s) for k in range(%(metrics)d) for s in range(%(steps)d)]
    c.log_batch(rid, metrics=pts)
    c.set_terminated(rid)
"""

MLFLOW_COPY = r"""
import json, sys, time
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
src, dst, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
a, b = MlflowClient(src), MlflowClient(dst)
t = time.perf_counter()
exp = a.get_experiment_by_name("history")
new_exp = b.create_experiment("history")
points = 0
for run in a.search_runs([exp.experiment_id], max_results=limit):
    new = b.create_run(new_exp, start_time=run.info.start_time, run_name=run.info.run_name)
    rid = new.info.run_id
    b.log_batch(rid, params=[Param(k, v) for k, v in run.data.params.items()],
                tags=[RunTag(k, v) for k, v in run.data.tags.items() if k != "mlflow.runName"])
    hist = [m for key in run.data.metrics for m in a.get_metric_history(run.info.run_id, key)]
    for i in range(0, len(hist), 1000):
        b.log_batch(rid, metrics=[Metric(m.key, m.value, m.timestamp, m.step) for m in hist[i:i + 1000]])
    points += len(hist)
    b.set_terminated(rid, run.info.status, run.info.end_time)
print(json.dumps({"seconds": time.perf_counter() - t, "points": points}))
"""

OFFLINE_FILL = r"""
import os, sys, random
import labkeep
from labkeep import Client
from labkeep.entities import Metric, Param
runs = int(sys.argv[1])
c = Client()
exp = c.create_experiment("history")
rng = random.Random(7)
t0 = 1_700_000_000_000
for r in range(runs):
    rid = c.create_run(exp, run_name=f"run-{r}").info.run_id
    c.log_batch(rid, params=[Param(f"p{i}", str(rng.random())) for i in range(%(params)d)])
    c.log_batch(rid, metrics=[Metric(f"m{k}", rng.random(), t0 + s, s) for k in range(%(metrics)d) for s in range(%(steps)d)])
    c.set_terminated(rid)
"""

LOG_BATCH_PUSH = r"""
import json, sys, time, random
from labkeep import Client
from labkeep.entities import Metric, Param
url, runs = sys.argv[1], int(sys.argv[2])
c = Client(url)
rng = random.Random(7)
t0 = 1_700_000_000_000
t = time.perf_counter()
exp = c.create_experiment("direct")
for r in range(runs):
    rid = c.create_run(exp, run_name=f"run-{r}").info.run_id
    c.log_batch(rid, params=[Param(f"p{i}", str(rng.random())) for i in range(%(params)d)])
    pts = [Metric(f"m{k}", rng.random(), t0 + s, s) for k in range(%(metrics)d) for s in range(%(steps)d)]
    for i in range(0, len(pts), 1000):
        c.log_batch(rid, metrics=pts[i:i + 1000])
    c.set_terminated(rid)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def _shape(script: str) -> str:
    """The worker script with the run shape filled in."""
    return (
        script.replace("%(params)d", str(PARAMS))
        .replace("%(metrics)d", str(METRICS))
        .replace("%(steps)d", str(STEPS))
    )


def _cached(kind: str, runs: int, script: str, name: str) -> Path:
    folder = CACHE_DIR / f"transfer-{kind}-{runs}"
    target = folder / name
    if not (folder / "done").exists():
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        print(f"building {kind} store of {runs} runs (cached in {folder})…", file=sys.stderr)
        run_python(["-c", _shape(script), str(target), str(runs)], folder, timeout=7200)
        (folder / "done").write_text("ok")
    return target


def _timed(args: list[str], cwd: Path, env: dict | None = None) -> float:
    t = time.perf_counter()
    run_python(args, cwd, env or clean_env(), timeout=7200)
    return time.perf_counter() - t


LABKEEP_CLI = ["-c", "from labkeep.cli import main; main()"]


def _child_cpu() -> float:
    import resource

    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def bench_db(runs: int, mlflow_runs: int, trials: int) -> Measure:
    db = _cached("db", runs, BUILD_DB, "mlflow.db")
    lk, ml, lk_cpu, loads = [], [], [], []
    for _ in range(trials):
        with temp_dir("transfer-lk") as d:
            loads.append(os.getloadavg()[0])
            cpu = _child_cpu()
            secs = _timed(
                [*LABKEEP_CLI, "import", "mlflow", f"sqlite:///{db}", "--to", str(d / "dest"), "-q"], d
            )
            lk_cpu.append(runs * POINTS_PER_RUN / (_child_cpu() - cpu))
            lk.append(runs * POINTS_PER_RUN / secs)
        with temp_dir("transfer-ml") as d:
            out = run_json(
                ["-c", MLFLOW_COPY, f"sqlite:///{db}", f"sqlite:///{d}/copy.db", str(mlflow_runs)], d
            )
            ml.append(out["points"] / out["seconds"])
    return Measure(
        f"db import {runs}x{POINTS_PER_RUN} pts",
        "pts/s",
        median(lk),
        median(ml),
        lower_is_better=False,
        notes={
            "labkeep_points": runs * POINTS_PER_RUN,
            "mlflow_points": mlflow_runs * POINTS_PER_RUN,
            "issue_target_points_per_s": 100_000,
            # points per CPU-second of the import process: what a quiet machine would approach
            "labkeep_points_per_cpu_s": round(median(lk_cpu)),
            "labkeep_trials_points_per_s": [round(x) for x in lk],
            "load_average_1min": [round(x, 1) for x in loads],
        },
    )


def bench_files(runs: int, trials: int) -> Measure:
    folder = _cached("files", runs, BUILD_FILES, "mlruns")
    lk, ml = [], []
    for _ in range(trials):
        with temp_dir("transfer-lk") as d:
            lk.append(
                _timed([*LABKEEP_CLI, "import", "mlflow", str(folder), "--to", str(d / "dest"), "-q"], d)
            )
        with temp_dir("transfer-ml") as d:
            ml.append(
                _timed(
                    [
                        "-m",
                        "mlflow",
                        "migrate-filestore",
                        "--source",
                        str(folder),
                        "--target",
                        f"sqlite:///{d}/mlflow.db",
                        "--no-progress",
                    ],
                    d,
                    clean_env(MLFLOW_ALLOW_FILE_STORE="true"),
                )
            )
    return Measure(f"file import {runs} runs", "s", median(lk), median(ml))


def bench_sync(runs: int, trials: int) -> Measure:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.server.helpers import free_port, running_server

    lk, direct = [], []
    for _ in range(trials):
        with temp_dir("transfer-sync") as d:
            offline = d / "offline"
            offline.mkdir()
            run_python(
                ["-c", _shape(OFFLINE_FILL), str(runs)], d, clean_env(LABKEEP_TRACKING_URI=str(offline))
            )
            port = free_port()
            args = [
                "--backend-store-uri",
                f"sqlite:///{d}/server.db",
                "--artifacts-destination",
                str(d / "art"),
            ]
            with running_server(args, cwd=str(d), port=port, env=clean_env()) as (url, _proc):
                secs = _timed([*LABKEEP_CLI, "sync", "--from", str(offline), "--to", url, "-q"], d)
                lk.append(secs)
                out = run_json(["-c", _shape(LOG_BATCH_PUSH), url, str(runs)], d)
                direct.append(out["seconds"])
    return Measure(
        f"sync {runs}x{POINTS_PER_RUN} pts",
        "s",
        median(lk),
        median(direct),
        target=0.5,
        notes={"compared_with": "Client.log_batch of the same points to the same server"},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--mlflow-runs", type=int, default=50)
    parser.add_argument("--file-runs", type=int, default=200)
    parser.add_argument("--sync-runs", type=int, default=200)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--only", default="db,files,sync")
    args = parser.parse_args()
    only = set(args.only.split(","))
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    measures = []
    if "db" in only:
        measures.append(bench_db(args.runs, args.mlflow_runs, args.trials))
    if "files" in only:
        measures.append(bench_files(args.file_runs, args.trials))
    if "sync" in only:
        measures.append(bench_sync(args.sync_runs, args.trials))
    report("transfer", measures, {"shape": {"params": PARAMS, "metrics": METRICS, "steps": STEPS}})


if __name__ == "__main__":
    main()
