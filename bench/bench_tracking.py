"""Tracking benchmarks: labkeep vs mlflow 3.17.2, side by side, in one invocation.

    .venv/bin/python bench/bench_tracking.py            # full sizes (several minutes)
    .venv/bin/python bench/bench_tracking.py --quick    # small sizes, a smoke run
    .venv/bin/python bench/bench_tracking.py --only search,history
    .venv/bin/python bench/bench_tracking.py --only million   # 1M-point history (labkeep) vs 200k (mlflow)

Every workload runs for each library in a fresh subprocess whose working directory is a new
temporary folder, so each side uses its own default local store there (labkeep: ``labkeep.db``;
mlflow: ``sqlite:///mlflow.db``). Stores that take long to fill (10k runs, a 200k-step metric)
are filled once through ``log_batch`` and cached under ``bench/.cache/`` keyed by library,
size and schema; each measurement works on a fresh copy of the cached store.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    CACHE_DIR,
    MLFLOW_VERSION,
    REPO_ROOT,
    Measure,
    emit,
    median,
    percentile,
    report,
    run_json,
    run_python,
    temp_dir,
    time_fresh_python,
)

LIBS = ("labkeep", "mlflow")
WORKLOADS = ("import", "log_metric", "log_batch", "open", "search", "history", "million")
CACHE_VERSION = 1
BATCH = 1000  # mlflow's limit of metrics per log_batch request

FULL = dict(log_metric=5000, log_batch=100_000, runs=10_000, history=200_000, million=1_000_000)
QUICK = dict(log_metric=500, log_batch=10_000, runs=1_000, history=20_000, million=100_000)
TARGETS = dict(import_=10, log_metric=50, log_batch=30, open=10, search=20, paging=10, history=12)
MILLION_TARGET_S = 1.0  # get_metric_history of a 1,000,000-point metric (issue 16)
SEARCH_FILTER = "metrics.m0 > 0.5 and params.p0 = 'a'"
SEARCH_ORDER = ["metrics.m1 DESC"]
PAGE_SIZE = 1000


# ====================================================================== worker side
# Runs inside the per-library subprocess; the same code drives both libraries through
# their mlflow-shaped APIs.


def _api(lib: str) -> SimpleNamespace:
    if lib == "labkeep":
        import labkeep as ml
        from labkeep import Client
        from labkeep.entities import Metric, Param, RunTag
    elif lib == "mlflow":
        import mlflow as ml
        from mlflow import MlflowClient as Client
        from mlflow.entities import Metric, Param, RunTag

        if ml.__version__ != MLFLOW_VERSION:
            raise SystemExit(f"bench expects mlflow=={MLFLOW_VERSION}, found {ml.__version__}")
    else:
        raise SystemExit(f"unknown lib {lib!r}")
    return SimpleNamespace(ml=ml, Client=Client, Metric=Metric, Param=Param, RunTag=RunTag)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _chunks(items: list, size: int = BATCH):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def work_log_metric(api: SimpleNamespace, n: int, trials: int) -> dict:
    """``n`` fluent log_metric calls per trial, each in a new run; per-call latencies."""
    ml = api.ml
    ml.set_experiment("bench-log-metric")
    means, lat = [], []
    for _ in range(trials):
        with ml.start_run():
            calls = []
            t_start = time.perf_counter()
            for i in range(n):
                t0 = time.perf_counter()
                ml.log_metric("loss", 1.0 / (i + 1), step=i)
                calls.append(time.perf_counter() - t0)
            means.append((time.perf_counter() - t_start) / n)
            lat = calls
    return {"per_call": means, "p50": [percentile(lat, 50)], "p99": [percentile(lat, 99)]}


def work_log_batch(api: SimpleNamespace, points: int, trials: int) -> dict:
    """``points`` metric points per trial through Client.log_batch in chunks of 1000."""
    client = api.Client()
    exp_id = client.create_experiment("bench-log-batch")
    rates = []
    for _ in range(trials):
        run_id = client.create_run(exp_id).info.run_id
        ts = _now_ms()
        metrics = [api.Metric(f"m{i % 10}", float(i), ts + i, i // 10) for i in range(points)]
        t0 = time.perf_counter()
        for chunk in _chunks(metrics):
            client.log_batch(run_id, metrics=chunk)
        rates.append(points / (time.perf_counter() - t0))
        client.set_terminated(run_id)
    return {"points_per_s": rates}


def work_init(api: SimpleNamespace) -> dict:
    """Create the store's schema and one experiment (for the open benchmark)."""
    api.ml.set_experiment("bench-open")
    return {"ok": True}


def work_populate_runs(api: SimpleNamespace, n: int) -> dict:
    """An experiment of ``n`` runs, each with 5 params, 6 metrics and 2 tags (one log_batch each)."""
    client = api.Client()
    exp_id = client.create_experiment("bench-search")
    rnd = random.Random(42)
    ts = _now_ms() - n * 1000
    for i in range(n):
        run = client.create_run(exp_id, start_time=ts + i * 1000, run_name=f"run-{i:05d}")
        rid = run.info.run_id
        t = ts + i * 1000
        client.log_batch(
            rid,
            metrics=[api.Metric(f"m{j}", rnd.random(), t, 0) for j in range(5)]
            + [api.Metric("loss", rnd.random() * 10, t, 0)],
            params=[
                api.Param("p0", rnd.choice("abcd")),
                api.Param("p1", str(i % 10)),
                api.Param("lr", str(rnd.choice([0.1, 0.01, 0.001]))),
                api.Param("optimizer", rnd.choice(["sgd", "adam"])),
                api.Param("seed", str(i)),
            ],
            tags=[api.RunTag("team", rnd.choice(["red", "blue"])), api.RunTag("batch", str(i // 100))],
        )
        client.set_terminated(rid, end_time=t + 500)
    return {"experiment_id": exp_id}


def work_search(api: SimpleNamespace, experiment_id: str, n: int, trials: int) -> dict:
    """Filtered+ordered search (max_results=100), and paging through all ``n`` runs."""
    client = api.Client()
    client.search_runs([experiment_id], max_results=1)  # open the store before timing

    search = []
    for _ in range(trials):
        t0 = time.perf_counter()
        runs = client.search_runs(
            [experiment_id], filter_string=SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=100
        )
        search.append(time.perf_counter() - t0)
    n_hits = len(runs)
    ordered = [r.data.metrics["m1"] for r in runs]
    if ordered != sorted(ordered, reverse=True) or not all(
        r.data.params["p0"] == "a" and r.data.metrics["m0"] > 0.5 for r in runs
    ):
        raise SystemExit("search_runs returned runs that do not match the filter/order")

    paging = []
    for _ in range(trials):
        t0 = time.perf_counter()
        seen, token = 0, None
        while True:
            page = client.search_runs([experiment_id], max_results=PAGE_SIZE, page_token=token)
            seen += len(page)
            token = page.token
            if not token:
                break
        paging.append(time.perf_counter() - t0)
        if seen != n:
            raise SystemExit(f"paging saw {seen} runs, expected {n}")
    return {"search": search, "paging": paging, "hits": n_hits}


def work_populate_history(api: SimpleNamespace, steps: int) -> dict:
    """One run with a ``steps``-long metric ``loss``."""
    client = api.Client()
    exp_id = client.create_experiment("bench-history")
    run_id = client.create_run(exp_id).info.run_id
    ts = _now_ms()
    metrics = [api.Metric("loss", 1.0 / (i + 1), ts + i, i) for i in range(steps)]
    for chunk in _chunks(metrics):
        client.log_batch(run_id, metrics=chunk)
    client.set_terminated(run_id)
    return {"run_id": run_id}


def work_history(api: SimpleNamespace, run_id: str, steps: int, trials: int) -> dict:
    client = api.Client()
    client.get_run(run_id)  # open the store before timing
    times = []
    for _ in range(trials):
        t0 = time.perf_counter()
        hist = client.get_metric_history(run_id, "loss")
        times.append(time.perf_counter() - t0)
        if len(hist) != steps:
            raise SystemExit(f"history has {len(hist)} points, expected {steps}")
    return {"history": times}


def work_history_columns(api: SimpleNamespace, run_id: str, steps: int, trials: int) -> dict:
    """``get_metric_history`` and (labkeep) ``get_metric_history_columns``: wall and CPU seconds."""
    client = api.Client()
    client.get_run(run_id)  # open the store before timing
    out: dict = {"history": [], "history_cpu": [], "columns": [], "columns_cpu": []}
    reads = [("history", client.get_metric_history)]
    if hasattr(client, "get_metric_history_columns"):
        reads.append(("columns", client.get_metric_history_columns))
    for _ in range(trials):
        for name, read in reads:
            t0, c0 = time.perf_counter(), time.process_time()
            got = read(run_id, "loss")
            out[name].append(time.perf_counter() - t0)
            out[f"{name}_cpu"].append(time.process_time() - c0)
            n = len(got.steps) if name == "columns" else len(got)
            if n != steps:
                raise SystemExit(f"{name} has {n} points, expected {steps}")
            del got
    return out


def worker_main(name: str, lib: str, params: dict) -> None:
    api = _api(lib)
    fn = globals()[f"work_{name}"]
    emit(fn(api, **params))


# ====================================================================== parent side


def _worker(name: str, lib: str, cwd: Path, **params) -> dict:
    return run_json([__file__, "--worker", name, "--lib", lib, "--params", json.dumps(params)], cwd)


def _schema_key(lib: str) -> str:
    """Cache key part that changes when the library's stored format may have changed."""
    if lib == "mlflow":
        return MLFLOW_VERSION
    h = hashlib.sha1()
    sql_dir = REPO_ROOT / "labkeep" / "stores" / "sql"
    for path in sorted(sql_dir.rglob("*.py")):
        if "schema" in path.name or "migrations" in path.parts:
            h.update(path.read_bytes())
    return h.hexdigest()[:10]


def _cached_store(lib: str, kind: str, size: int) -> tuple[Path, dict]:
    """The cached populated store folder for (lib, kind, size), filled on first use."""
    key = f"{lib}-{kind}-{size}-{_schema_key(lib)}-v{CACHE_VERSION}"
    folder = CACHE_DIR / key
    meta_file = folder / "meta.json"
    if meta_file.exists():
        return folder, json.loads(meta_file.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(
        f"  filling {lib} store: {kind} x {size:,} (cached in {folder.relative_to(REPO_ROOT)}) ...",
        flush=True,
    )
    t0 = time.perf_counter()
    if kind == "runs":
        meta = _worker("populate_runs", lib, folder, n=size)
    else:
        meta = _worker("populate_history", lib, folder, steps=size)
    meta["fill_seconds"] = time.perf_counter() - t0
    meta_file.write_text(json.dumps(meta))
    print(f"  ... filled in {meta['fill_seconds']:.1f} s", flush=True)
    return folder, meta


def _copy_store(src: Path, dst: Path) -> None:
    for item in src.iterdir():
        if item.name == "meta.json":
            continue
        if item.is_dir():
            shutil.copytree(item, dst / item.name)
        else:
            shutil.copy2(item, dst / item.name)


def _rounds(libs, rounds: int, fn) -> dict:
    """Call ``fn(lib)`` ``rounds`` times per library, interleaved (labkeep, mlflow, labkeep, ...)
    so that changes in machine load hit both sides alike. List values of the answers are
    concatenated across rounds. A side that fails is reported once and shown as missing."""
    out: dict = {lib: {} for lib in libs}
    failed: set[str] = set()
    for _ in range(rounds):
        for lib in libs:
            if lib in failed:
                continue
            try:
                answer = fn(lib)
            except Exception as exc:  # a side that cannot run yet is shown as missing
                msg = str(exc).strip().splitlines()
                print(f"  {lib}: FAILED: {msg[-1] if msg else exc!r}", file=sys.stderr, flush=True)
                failed.add(lib)
                continue
            for key, value in answer.items():
                if isinstance(value, list):
                    out[lib].setdefault(key, []).extend(value)
                else:
                    out[lib][key] = value
    return {lib: (None if lib in failed else out[lib]) for lib in libs}


def _measure(name, unit, results, pick, lower=True, target=None, notes=None) -> Measure:
    vals = {lib: (pick(r) if r is not None else None) for lib, r in results.items()}
    return Measure(name, unit, vals.get("labkeep"), vals.get("mlflow"), lower, target, notes or {})


def bench_import(libs, sizes, trials) -> list[Measure]:
    with temp_dir("import") as cwd:
        modules = {}
        for lib in libs:
            try:
                time_fresh_python(f"import {lib}", cwd)  # warm the bytecode cache
                count = run_python(["-c", f"import sys; import {lib}; print(len(sys.modules))"], cwd)
                modules[lib] = int(count.stdout.split()[-1])
            except Exception as exc:
                print(f"  {lib}: FAILED: {str(exc).strip().splitlines()[-1]}", file=sys.stderr)
        bare = median([time_fresh_python("pass", cwd) for _ in range(trials)])
        r = _rounds(
            [lib for lib in libs if lib in modules],
            trials,
            lambda lib: {"time": [time_fresh_python(f"import {lib}", cwd)]},
        )
    counts = {lib: ({"modules": modules[lib]} if lib in modules else None) for lib in libs}
    return [
        _measure(
            "python -c 'import X' (wall)",
            "s",
            r,
            lambda v: median(v["time"]),
            target=TARGETS["import_"],
            notes={"python_startup_s": bare},
        ),
        _measure("modules loaded by import", "modules", counts, lambda v: v["modules"]),
    ]


def bench_log_metric(libs, sizes, trials) -> list[Measure]:
    n = sizes["log_metric"]

    def one(lib):
        with temp_dir("logm") as cwd:
            return _worker("log_metric", lib, cwd, n=n, trials=1)

    r = _rounds(libs, trials, one)
    notes = {f"{lib}_p99_s": median(v["p99"]) for lib, v in r.items() if v}
    return [
        _measure(
            f"log_metric, per call ({n:,} calls)",
            "s",
            r,
            lambda v: median(v["per_call"]),
            target=TARGETS["log_metric"],
            notes=notes,
        )
    ]


def bench_log_batch(libs, sizes, trials) -> list[Measure]:
    points = sizes["log_batch"]

    def one(lib):
        with temp_dir("logb") as cwd:
            return _worker("log_batch", lib, cwd, points=points, trials=1)

    r = _rounds(libs, trials, one)
    return [
        _measure(
            f"log_batch {points:,} points",
            "points/s",
            r,
            lambda v: median(v["points_per_s"]),
            lower=False,
            target=TARGETS["log_batch"],
        )
    ]


OPEN_SNIPPET = """
import json, sys, time
t0 = time.perf_counter()
import {lib} as ml
t1 = time.perf_counter()
exp = ml.get_experiment_by_name("bench-open")
t2 = time.perf_counter()
assert exp is not None, "bench-open experiment missing"
print(json.dumps({{"import": [t1 - t0], "open": [t2 - t1]}}))
"""


def bench_open(libs, sizes, trials) -> list[Measure]:
    with temp_dir("open") as root:
        for lib in libs:
            (root / lib).mkdir()
            _worker("init", lib, root / lib)
        r = _rounds(libs, trials, lambda lib: run_json(["-c", OPEN_SNIPPET.format(lib=lib)], root / lib))
    return [
        _measure(
            "open store: first get_experiment_by_name",
            "s",
            r,
            lambda v: median(v["open"]),
            target=TARGETS["open"],
        )
    ]


def _prepare(libs, kind: str, size: int) -> dict:
    """Each library's cached populated store (filled now if missing); a failing side is None."""
    stores = {}
    for lib in libs:
        try:
            stores[lib] = _cached_store(lib, kind, size)
        except Exception as exc:
            print(f"  {lib}: FAILED to fill: {str(exc).strip().splitlines()[-1]}", file=sys.stderr)
    return stores


def bench_search(libs, sizes, trials) -> list[Measure]:
    n = sizes["runs"]
    stores = _prepare(libs, "runs", n)

    def one(lib):
        src, meta = stores[lib]
        with temp_dir("search") as cwd:
            _copy_store(src, cwd)
            return _worker("search", lib, cwd, experiment_id=meta["experiment_id"], n=n, trials=1)

    r = _rounds([lib for lib in libs if lib in stores], trials, one)
    notes = {f"{lib}_hits": v["hits"] for lib, v in r.items() if v}
    return [
        _measure(
            f"search_runs filter+order, 100 of {n:,} runs",
            "s",
            r,
            lambda v: median(v["search"]),
            target=TARGETS["search"],
            notes={"filter": SEARCH_FILTER, "order_by": SEARCH_ORDER, **notes},
        ),
        _measure(
            f"page through {n:,} runs ({PAGE_SIZE}/page)",
            "s",
            r,
            lambda v: median(v["paging"]),
            target=TARGETS["paging"],
        ),
    ]


def bench_history(libs, sizes, trials) -> list[Measure]:
    steps = sizes["history"]
    stores = _prepare(libs, "history", steps)

    def one(lib):
        src, meta = stores[lib]
        with temp_dir("history") as cwd:
            _copy_store(src, cwd)
            return _worker("history", lib, cwd, run_id=meta["run_id"], steps=steps, trials=1)

    r = _rounds([lib for lib in libs if lib in stores], trials, one)
    return [
        _measure(
            f"get_metric_history, {steps:,} steps",
            "s",
            r,
            lambda v: median(v["history"]),
            target=TARGETS["history"],
        )
    ]


def bench_million(libs, sizes, trials) -> list[Measure]:
    """labkeep reads a 1M-point history; mlflow (minutes per read at that size) reads 200k points
    in the same rounds, and its time is scaled to 1M points (it grows linearly: 5x the points)."""
    big, small = sizes["million"], sizes["history"]
    want = {"labkeep": big, "mlflow": small}
    stores = {}
    for lib in libs:
        got = _prepare([lib], "history", want[lib])
        stores.update(got)

    def one(lib):
        src, meta = stores[lib]
        with temp_dir("million") as cwd:
            _copy_store(src, cwd)
            return _worker("history_columns", lib, cwd, run_id=meta["run_id"], steps=want[lib], trials=1)

    r = _rounds([lib for lib in libs if lib in stores], trials, one)
    scale = big / small
    per_big = {lib: v and {**v, "history": [t * (scale if lib == "mlflow" else 1) for t in v["history"]]} for lib, v in r.items()}
    lk = r.get("labkeep") or {}
    notes = {
        "mlflow_points": small,
        "mlflow_scaled_by": scale,
        "labkeep_points": big,
        "target_s": MILLION_TARGET_S,
        "labkeep_history_cpu_s": median(lk["history_cpu"]) if lk else None,
        "labkeep_columns_cpu_s": median(lk["columns_cpu"]) if lk else None,
    }
    return [
        _measure(
            f"get_metric_history, {big:,} steps (mlflow: {small:,} x {scale:g})",
            "s",
            per_big,
            lambda v: median(v["history"]),
            target=TARGETS["history"],
            notes=notes,
        ),
        _measure(
            f"get_metric_history_columns, {big:,} steps (labkeep only)",
            "s",
            {"labkeep": r.get("labkeep"), "mlflow": None},
            lambda v: median(v["columns"]),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    p.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(WORKLOADS)}")
    p.add_argument(
        "--trials", type=int, default=0, help="repeats per measurement (default 3; 2 with --quick)"
    )
    p.add_argument("--lib", choices=("both", *LIBS), default="both", help="measure one side only")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        worker_main(args.worker, args.lib, json.loads(args.params))
        return 0

    only = [w.strip() for w in args.only.split(",") if w.strip()] or list(WORKLOADS)
    unknown = sorted(set(only) - set(WORKLOADS))
    if unknown:
        p.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    sizes = QUICK if args.quick else FULL
    trials = args.trials or (2 if args.quick else 3)
    libs = LIBS if args.lib == "both" else (args.lib,)

    measures: list[Measure] = []
    for name in WORKLOADS:
        if name not in only:
            continue
        print(f"[{name}] ...", flush=True)
        t_trials = max(trials, 5) if name in ("import", "open", "search") else trials
        measures += globals()[f"bench_{name}"](libs, sizes, t_trials)
    report(
        "tracking",
        measures,
        {
            "sizes": sizes,
            "trials": trials,
            "quick": args.quick,
            "mlflow_version": MLFLOW_VERSION,
            "command": " ".join(
                [os.path.relpath(__file__, REPO_ROOT), *(argv if argv is not None else sys.argv[1:])]
            ),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
