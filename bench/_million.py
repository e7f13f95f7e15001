"""One experiment of a million runs (5 params, 6 metrics each) on PostgreSQL and SQLite, for
``bench_scale.py million``.

The rows are bulk-loaded straight into labkeep's tables (PostgreSQL ``COPY``, SQLite
``executemany``), the bulk path: through ``log_batch`` the load alone would take hours on the
2-core dev machine. The schema and the experiment are made by labkeep's own store first.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from _cluster import create_database, drop_database, free_port
from _harness import CACHE_DIR, PYTHON, Measure, clean_env, median

CHUNK = 50_000
HISTORY_POINTS = 1_000_000
FILTER = "metrics.m0 > 0.5 and params.p0 = 'a'"
ORDER = ["metrics.m1 DESC"]

_RUN_COLS = "run_id, experiment_id, name, user_id, status, start_time, end_time, deleted_time, artifact_uri, lifecycle_stage"
_PARAM_COLS = "run_id, name, value"
_METRIC_COLS = "run_id, name, step, ts, value, kind, model_id, dataset_name, dataset_digest"


def _chunks(exp_id: int, runs: int, root: str) -> Iterator[tuple[list, list, list]]:
    """(runs rows, params rows, metric rows) for ``runs`` runs, CHUNK runs at a time."""
    rng = random.Random(7)
    t0 = 1_700_000_000_000
    for start in range(0, runs, CHUNK):
        run_rows, param_rows, metric_rows = [], [], []
        for i in range(start, min(start + CHUNK, runs)):
            run_id = f"{rng.getrandbits(128):032x}"
            run_rows.append((run_id, exp_id, f"run-{i}", "bench", "FINISHED", t0 + i, t0 + i + 1000, None,
                             f"{root}/{exp_id}/{run_id}/artifacts", "active"))  # fmt: skip
            param_rows += [(run_id, f"p{k}", rng.choice("abcd")) for k in range(5)]
            metric_rows += [(run_id, f"m{k}", 0, t0 + i, rng.random(), 0, None, None, None) for k in range(6)]
        yield run_rows, param_rows, metric_rows


def _history_rows(run_id: str) -> Iterator[list]:
    for start in range(0, HISTORY_POINTS, CHUNK):
        yield [(run_id, "loss", s, 1_700_000_000_000 + s, 1.0 / (s + 1), 0, None, None, None)
               for s in range(start, min(start + CHUNK, HISTORY_POINTS))]  # fmt: skip


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _prepare(uri: str) -> tuple[int, str]:
    """Schema and the experiment through labkeep's store; the id of the experiment, its root."""
    from labkeep.stores.sql.tracking import SqlTrackingStore

    store = SqlTrackingStore(uri, "/tmp/lkbench-artifacts")
    exp_id = int(store.create_experiment("million"))
    hist_exp = int(store.create_experiment("history"))
    run = store.create_run(str(hist_exp), "bench", 1, [], "history")
    store.close()
    return exp_id, run.info.run_id


def _copy(cur, table: str, cols: str, rows: list) -> None:
    def cell(v: object) -> str:
        return "\\N" if v is None else str(v)

    with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        copy.write("".join("\t".join(cell(v) for v in row) + "\n" for row in rows))


def load_postgres(uri: str, runs: int) -> tuple[int, str]:
    import psycopg

    exp_id, hist_run = _prepare(uri)
    dsn = uri.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for n, (r, p, m) in enumerate(_chunks(exp_id, runs, "/tmp/lkbench-artifacts"), 1):
            _copy(cur, "runs", _RUN_COLS, r)
            _copy(cur, "params", _PARAM_COLS, p)
            _copy(cur, "metrics", _METRIC_COLS, m)
            _copy(cur, "latest_metrics", _METRIC_COLS, m)
            conn.commit()
            _progress(f"  postgresql: {min(n * CHUNK, runs):,}/{runs:,} runs")
        for rows in _history_rows(hist_run):
            _copy(cur, "metrics", _METRIC_COLS, rows)
        _copy(cur, "latest_metrics", _METRIC_COLS, [rows[-1]])
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return exp_id, hist_run


def load_sqlite(path: Path, runs: int) -> tuple[int, str]:
    uri = f"sqlite:///{path}"
    exp_id, hist_run = _prepare(uri)
    conn = sqlite3.connect(path, isolation_level=None)
    # A bulk load: no journal, a 1 GB page cache, and secondary indexes built once at the end
    # (sorting beats a million random index inserts; the schema ends up the same).
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        " AND tbl_name IN ('runs', 'params', 'metrics', 'latest_metrics')"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    for n, (r, p, m) in enumerate(_chunks(exp_id, runs, "/tmp/lkbench-artifacts"), 1):
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO runs ({_RUN_COLS}) VALUES ({', '.join('?' * 10)})", r)
        conn.executemany(f"INSERT INTO params ({_PARAM_COLS}) VALUES (?, ?, ?)", p)
        conn.executemany(f"INSERT INTO metrics ({_METRIC_COLS}) VALUES ({', '.join('?' * 9)})", m)
        conn.executemany(f"INSERT INTO latest_metrics ({_METRIC_COLS}) VALUES ({', '.join('?' * 9)})", m)
        conn.execute("COMMIT")
        _progress(f"  sqlite: {min(n * CHUNK, runs):,}/{runs:,} runs")
    conn.execute("BEGIN")
    last = None
    for rows in _history_rows(hist_run):
        conn.executemany(f"INSERT INTO metrics ({_METRIC_COLS}) VALUES ({', '.join('?' * 9)})", rows)
        last = rows[-1]
    conn.execute(f"INSERT INTO latest_metrics ({_METRIC_COLS}) VALUES ({', '.join('?' * 9)})", last)
    conn.execute("COMMIT")
    for name, sql in indexes:
        _progress(f"  sqlite: index {name}")
        conn.execute(sql)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("ANALYZE")
    conn.close()
    return exp_id, hist_run


def measure(uri: str, exp_id: int, hist_run: str, trials: int = 5) -> dict:
    """search_runs, the UI runs page (server time over loopback) and get_metric_history."""
    from labkeep.client import Client

    client = Client(tracking_uri=uri)
    times, answer = [], []
    for i in range(trials + 1):
        t = time.perf_counter()
        answer = client.search_runs([str(exp_id)], FILTER, order_by=ORDER, max_results=100)
        if i:  # the first call warms the store's connection
            times.append(time.perf_counter() - t)
    m1 = [r.data.metrics["m1"] for r in answer]
    assert len(answer) == 100 and m1 == sorted(m1, reverse=True)
    assert all(r.data.params["p0"] == "a" and r.data.metrics["m0"] > 0.5 for r in answer)
    search = median(times)

    hist_times = []
    for _ in range(3):
        t = time.perf_counter()
        points = client.get_metric_history(hist_run, "loss")
        hist_times.append(time.perf_counter() - t)
    assert len(points) == HISTORY_POINTS

    page = _page_time(uri, exp_id, trials)
    return {"search": search, "history": median(hist_times), "page": page}


def _page_time(uri: str, exp_id: int, trials: int) -> float:
    import http.client
    import os
    import signal
    import subprocess

    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, "-c", "from labkeep.cli.server import server; server()", "--port", str(port),
         "--backend-store-uri", uri],
        env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("GET", "/health")
                conn.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("labkeep server did not start") from None
                time.sleep(0.1)
        times = []
        for i in range(trials + 1):
            t = time.perf_counter()
            conn.request("GET", f"/experiments/{exp_id}")
            resp = conn.getresponse()
            body = resp.read()
            if i:
                times.append(time.perf_counter() - t)
            assert resp.status == 200 and b"run-" in body, resp.status
        return median(times)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def _kept_sqlite(path: Path) -> tuple[int, str] | None:
    """(experiment id, history run id) of a store kept by an earlier ``--keep`` run, else None."""
    if not path.exists():
        return None
    from labkeep.stores.sql.tracking import SqlTrackingStore

    store = SqlTrackingStore(f"sqlite:///{path}", "/tmp/lkbench-artifacts")  # migrates it to the head
    try:
        million, history = store.get_experiment_by_name("million"), store.get_experiment_by_name("history")
        if million is None or history is None:
            return None
        (run,) = store.search_runs([history.experiment_id], max_results=1)
        return int(million.experiment_id), run.info.run_id
    finally:
        store.close()


def _sqlite_paths(path: Path) -> list[Path]:
    return [Path(str(path) + suffix) for suffix in ("", "-wal", "-shm", ".schema-lock")]


def bench_million(
    runs: int, keep: bool = False, backends: tuple[str, ...] = ("postgresql", "sqlite")
) -> tuple[list[Measure], dict]:
    """Load (or, with ``keep``, reuse a kept SQLite file) and measure; ``keep`` leaves the stores."""
    figures: dict = {"runs": runs}
    label = f"{runs:,} runs"
    measures: list[Measure] = []
    if "postgresql" in backends:
        name = f"lkbench_million_{runs}"
        _progress(f"million: loading {runs:,} runs into PostgreSQL ({name}) ...")
        uri = create_database(name)
        try:
            t = time.perf_counter()
            exp_id, hist_run = load_postgres(uri, runs)
            figures["pg_load_s"] = time.perf_counter() - t
            figures["postgresql"] = measure(uri, exp_id, hist_run)
        finally:
            if not keep:
                drop_database(name)
        measures += _measures(figures["postgresql"], label, "PostgreSQL")
    if "sqlite" in backends:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        path = CACHE_DIR / f"million-{runs}.db"
        kept = _kept_sqlite(path) if keep else None
        try:
            if kept is None:
                for p in _sqlite_paths(path):
                    p.unlink(missing_ok=True)
                _progress(f"million: loading {runs:,} runs into SQLite ({path}) ...")
                t = time.perf_counter()
                kept = load_sqlite(path, runs)
                figures["sqlite_load_s"] = time.perf_counter() - t
            else:
                _progress(f"million: reusing {path}")
            figures["sqlite"] = measure(f"sqlite:///{path}", *kept)
        finally:
            if not keep:
                for p in _sqlite_paths(path):
                    p.unlink(missing_ok=True)
        measures += _measures(figures["sqlite"], label, "SQLite")
    return measures, figures


def _measures(fig: dict, label: str, backend: str) -> list[Measure]:
    return [
        Measure(f"search_runs filter+order top 100 of {label}, {backend}", "s", fig["search"], None,
                notes={"target_abs": 0.2}),
        Measure(f"UI runs page of {label}, {backend} (server)", "s", fig["page"], None, notes={"target_abs": 0.3}),
        Measure(f"get_metric_history 1M points, {backend}", "s", fig["history"], None, notes={"target_abs": 1.0}),
    ]  # fmt: skip
