"""Web UI at scale: labkeep's runs page vs mlflow's UI over 100,000 runs, and a 1M-point chart.

    .venv/bin/python bench/bench_ui.py [--runs 100000] [--points 1000000] [--requests 20]

Both stores hold the same rows: one experiment of N runs, each with a run name tag, 3 params and
2 metrics (one point each). They are written with ``executemany`` straight into each library's
own schema (logging 100k runs through either API takes many minutes and the measured reads only
depend on the rows) and cached under ``bench/.cache/``. Measured:

- server time of the runs page: labkeep ``GET /experiments/<id>`` (the whole HTML page of the
  first 100 runs) and its JSON twin; mlflow's ``POST /ajax-api/2.0/mlflow/runs/search`` for the
  first 100 runs (what its runs table requests); median of ``--requests`` keep-alive requests;
- in headless Chromium: first contentful paint, and the JS/CSS bytes each UI loads;
  for mlflow also the time until the first run name is on screen;
- a metric of ``--points`` points: the downsampling endpoint's server time and the run page's
  time from navigation start to the chart being drawn;
- the other pages at this scale, each against the request mlflow's UI makes for the same view
  (experiments list: ``experiments/search``; run page: ``runs/get``; compare 100 runs:
  ``runs/search`` for those ids; a chart's first draw and zoom:
  ``metrics/get-history-bulk-interval``, over the same million points in mlflow's schema);
  the grouped runs page has no server-side counterpart (mlflow groups the loaded rows in the
  browser).

The labkeep servers run the code of the checkout this file is in (``PYTHONPATH``), so copying the
file into an older checkout measures "before" on the same machine.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import CACHE_DIR, PYTHON, Measure, clean_env, report, tree_cpu  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
T0 = 1_700_000_000_000


def _rows(n: int):
    rnd = random.Random(42)
    for i in range(n):
        run_id = uuid.UUID(int=rnd.getrandbits(128)).hex
        start = T0 + i * 1000
        yield i, run_id, start, start + rnd.randint(1000, 100000), rnd


# ---------------------------------------------------------------- stores


def build_labkeep(path: Path, n: int) -> str:
    """A labkeep SQLite store with one experiment of ``n`` runs; returns the experiment id."""
    from labkeep.stores.sql.tracking import SqlTrackingStore

    store = SqlTrackingStore(f"sqlite:///{path}", str(path.parent / "artifacts"))
    exp = store.create_experiment("bench-100k")
    runs, tags, params, metrics = [], [], [], []
    for i, run_id, start, end, rnd in _rows(n):
        name = f"run-{i:06d}"
        runs.append((run_id, int(exp), name, "bench", "FINISHED", start, end, f"/tmp/a/{run_id}", "active"))
        tags.append((run_id, "mlflow.runName", name))
        tags.append((run_id, "mlflow.user", "bench"))
        for k, val in (
            ("lr", rnd.choice(["0.1", "0.01", "0.001"])),
            ("layers", str(i % 7)),
            ("seed", str(i)),
        ):
            params.append((run_id, k, val))
        for k, val in (("loss", rnd.random()), ("acc", rnd.random())):
            metrics.append((run_id, k, 0, end, val, 0, None, None, None))
    with store.db.write() as cur:
        cur.executemany(
            "INSERT INTO runs (run_id, experiment_id, name, user_id, status, start_time, end_time,"
            " artifact_uri, lifecycle_stage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            runs,
        )
        cur.executemany("INSERT INTO tags (run_id, name, value) VALUES (?, ?, ?)", tags)
        cur.executemany("INSERT INTO params (run_id, name, value) VALUES (?, ?, ?)", params)
        cols = "(run_id, name, step, ts, value, kind, model_id, dataset_name, dataset_digest)"
        cur.executemany(f"INSERT INTO metrics {cols} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", metrics)
        cur.executemany(f"INSERT INTO latest_metrics {cols} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", metrics)
    store.close()
    con = sqlite3.connect(path)
    con.execute("ANALYZE")
    con.close()
    return exp


def build_mlflow(path: Path, n: int) -> str:
    """The same rows in mlflow's schema (schema and experiment created by mlflow itself)."""
    code = (
        "from mlflow.tracking import MlflowClient; import sys;"
        f"c = MlflowClient('sqlite:///{path}'); print(c.create_experiment('bench-100k'))"
    )
    out = subprocess.run(
        [PYTHON, "-c", code], capture_output=True, text=True, env=clean_env(), cwd=path.parent
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    exp = out.stdout.strip().splitlines()[-1]
    runs, tags, params, metrics = [], [], [], []
    for i, run_id, start, end, rnd in _rows(n):
        name = f"run-{i:06d}"
        runs.append(
            (
                run_id,
                name,
                "UNKNOWN",
                "",
                "",
                "bench",
                "FINISHED",
                start,
                end,
                "",
                "active",
                f"/tmp/a/{run_id}",
                int(exp),
            )
        )
        tags.append(("mlflow.runName", name, run_id))
        tags.append(("mlflow.user", "bench", run_id))
        for k, val in (
            ("lr", rnd.choice(["0.1", "0.01", "0.001"])),
            ("layers", str(i % 7)),
            ("seed", str(i)),
        ):
            params.append((k, val, run_id))
        for k, val in (("loss", rnd.random()), ("acc", rnd.random())):
            metrics.append((k, val, end, run_id, 0, 0))
    con = sqlite3.connect(path)
    with con:
        con.executemany(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status,"
            " start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            runs,
        )
        con.executemany('INSERT INTO tags ("key", value, run_uuid) VALUES (?, ?, ?)', tags)
        con.executemany('INSERT INTO params ("key", value, run_uuid) VALUES (?, ?, ?)', params)
        con.executemany(
            'INSERT INTO metrics ("key", value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)',
            metrics,
        )
        con.executemany(
            'INSERT INTO latest_metrics ("key", value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)',
            metrics,
        )
    con.execute("ANALYZE")
    con.close()
    return exp


def build_big_metric(path: Path, points: int) -> str:
    """A labkeep store with one run holding ``points`` points of metric ``loss``; returns run id."""
    import math

    from labkeep.stores.sql.tracking import SqlTrackingStore

    store = SqlTrackingStore(f"sqlite:///{path}", str(path.parent / "artifacts"))
    run = store.create_run("0", "bench", T0, [], "million-points")
    rid = run.info.run_id
    rnd = random.Random(7)
    rows = (
        (rid, "loss", i, T0 + i * 10, math.exp(-i / points * 5) + rnd.random() * 0.05 + (3.0 if i % 250_000 == 7 else 0),
         0, None, None, None)
        for i in range(points)
    )  # fmt: skip
    with store.db.write() as cur:
        cur.executemany(
            "INSERT INTO metrics (run_id, name, step, ts, value, kind, model_id, dataset_name, dataset_digest)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        cur.execute(
            "INSERT INTO latest_metrics (run_id, name, step, ts, value, kind) VALUES (?, ?, ?, ?, ?, 0)",
            (rid, "loss", points - 1, T0 + (points - 1) * 10, 0.0),
        )
    store.update_run_info(rid, "FINISHED", T0 + points * 10, None)
    store.close()
    return rid


def build_mlflow_big_metric(path: Path, points: int) -> str:
    """The same million-point series in mlflow's schema (experiment and run created by mlflow)."""
    import math

    code = (
        "from mlflow.tracking import MlflowClient;"
        f"c = MlflowClient('sqlite:///{path}'); r = c.create_run('0', run_name='million-points');"
        "c.set_terminated(r.info.run_id); print(r.info.run_id)"
    )
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=clean_env(), cwd=path.parent)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    rid = out.stdout.strip().splitlines()[-1]
    rnd = random.Random(7)
    rows = (
        ("loss", math.exp(-i / points * 5) + rnd.random() * 0.05 + (3.0 if i % 250_000 == 7 else 0), T0 + i * 10,
         rid, i, 0)
        for i in range(points)
    )  # fmt: skip
    con = sqlite3.connect(path)
    with con:
        con.executemany(
            'INSERT INTO metrics ("key", value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)', rows
        )
        con.execute(
            'INSERT INTO latest_metrics ("key", value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, 0)',
            ("loss", 0.0, T0 + (points - 1) * 10, rid, points - 1),
        )
    con.close()
    return rid


def cached(name: str, builder, *args) -> tuple[Path, str]:
    folder = CACHE_DIR / name
    marker = folder / "id.txt"
    db = folder / "store.db"
    if marker.exists() and db.exists():
        return db, marker.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.glob("store.db*"):
        f.unlink()
    t0 = time.perf_counter()
    ident = builder(db, *args)
    marker.write_text(str(ident))
    print(f"built {name} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return db, str(ident)


# ---------------------------------------------------------------- servers and measurements


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, args: list[str], cwd: Path, health: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = clean_env(LABKEEP_DISABLE_GIT_CONTEXT="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        self.proc = subprocess.Popen(
            [*args, "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        import httpx

        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{args[:4]} exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(self.url + health, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{args[:4]} not healthy after 180 s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)


def median_request(client, method: str, url: str, n: int, **kw) -> float:
    times = []
    for i in range(n + 2):
        t0 = time.perf_counter()
        r = client.request(method, url, **kw)
        dt = time.perf_counter() - t0
        r.raise_for_status()
        if i >= 2:  # two warm-up requests
            times.append(dt)
    return statistics.median(times)


def browser_metrics(browser, url: str, loads: int, wait_text: str | None = None) -> dict:
    """Median first contentful paint, JS+CSS bytes, and (optionally) time until ``wait_text`` shows."""
    fcps, texts, weight = [], [], 0
    for _ in range(loads):
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(url, wait_until="load")
        fcp = page.evaluate(
            """() => new Promise(resolve => {
                const get = () => performance.getEntriesByName('first-contentful-paint')[0];
                if (get()) return resolve(get().startTime);
                new PerformanceObserver(() => get() && resolve(get().startTime)).observe({type: 'paint', buffered: true});
                setTimeout(() => resolve(null), 30000);
            })"""
        )
        if wait_text:
            try:
                page.get_by_text(wait_text, exact=True).first.wait_for(timeout=60000)
                texts.append(page.evaluate("performance.now()"))
            except Exception:  # mlflow's page may not show the runs table: report none
                pass
        weight = page.evaluate(
            """() => performance.getEntriesByType('resource')
                .filter(e => /\\.(js|css)(\\?|$)/.test(e.name) || e.initiatorType === 'script' || e.initiatorType === 'link')
                .reduce((s, e) => s + (e.encodedBodySize || e.transferSize || 0), 0)"""
        )
        if fcp is not None:
            fcps.append(fcp / 1000)
        ctx.close()
    return {
        "fcp": statistics.median(fcps) if fcps else None,
        "text": statistics.median(texts) / 1000 if texts else None,
        "weight": weight,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--skip-mlflow", action="store_true")
    a = ap.parse_args()

    import httpx
    from playwright.sync_api import sync_playwright

    lk_db, lk_exp = cached(f"ui-labkeep-{a.runs}", build_labkeep, a.runs)
    big_db, big_run = cached(f"ui-labkeep-metric-{a.points}", build_big_metric, a.points)
    ml_db = ml_exp = ml_big_db = ml_big_run = None
    if not a.skip_mlflow:
        ml_db, ml_exp = cached(f"ui-mlflow-{a.runs}", build_mlflow, a.runs)
        ml_big_db, ml_big_run = cached(f"ui-mlflow-metric-{a.points}", build_mlflow_big_metric, a.points)

    labkeep_cmd = [PYTHON, "-c", "from labkeep.cli import main; main()", "ui", "--no-serve-artifacts"]
    measures: list[Measure] = []
    notes: dict = {"runs": a.runs, "points": a.points}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        lk = Server([*labkeep_cmd, "--backend-store-uri", f"sqlite:///{lk_db}"], lk_db.parent, "/health")
        try:
            with httpx.Client(timeout=120) as c:
                page_url = f"{lk.url}/experiments/{lk_exp}"
                cpu0 = tree_cpu(lk.proc.pid)
                lk_html = median_request(c, "GET", page_url, a.requests)
                notes["labkeep_page_server_cpu_s_per_request"] = (tree_cpu(lk.proc.pid) - cpu0) / (
                    a.requests + 2
                )
                lk_json = median_request(c, "GET", page_url + ".json", a.requests)
                lk_sorted = median_request(c, "GET", page_url, a.requests, params={"sort": "metrics.loss"})
                lk_filter = median_request(
                    c,
                    "GET",
                    page_url,
                    a.requests,
                    params={"filter": "metrics.loss < 0.5 and params.lr = '0.01'"},
                )
                lk_api = median_request(
                    c,
                    "POST",
                    f"{lk.url}/ajax-api/2.0/mlflow/runs/search",
                    a.requests,
                    json={"experiment_ids": [lk_exp], "max_results": 100},
                )
                html_bytes = len(c.get(page_url).content)
                # the other pages at this scale (issue 18: every page under 300 ms server time)
                some_run = c.get(page_url + ".json").json()["rows"][0]["run_id"]
                first_ids = [r["run_id"] for r in c.get(page_url + ".json").json()["rows"]][:100]
                other_pages = {
                    "experiments list": (f"{lk.url}/", {}),
                    "experiment traces tab": (f"{page_url}/traces", {}),
                    "experiment models tab": (f"{page_url}/models", {}),
                    "run page": (f"{lk.url}/runs/{some_run}", {}),
                    "compare 100 runs": (f"{lk.url}/compare", {"runs": ",".join(first_ids)}),
                    "grouped runs page (group by params.lr)": (page_url, {"group": "params.lr"}),
                }
                for label, (u, params) in other_pages.items():
                    n, cpu0 = max(3, a.requests // 4), tree_cpu(lk.proc.pid)
                    other_pages[label] = median_request(c, "GET", u, n, params=params)
                    # server CPU per request: what the machine's load does not inflate
                    notes[f"server_cpu_ms_per_request {label}"] = round((tree_cpu(lk.proc.pid) - cpu0) / (n + 2) * 1000, 1)
            lk_browser = browser_metrics(browser, f"{lk.url}/experiments/{lk_exp}", a.loads)
        finally:
            lk.stop()
        big = Server([*labkeep_cmd, "--backend-store-uri", f"sqlite:///{big_db}"], big_db.parent, "/health")
        try:
            with httpx.Client(timeout=60) as c:
                series_url = f"{big.url}/ui-api/metric-series"
                series_params = {"run_ids": big_run, "key": "loss", "max_points": 1000}
                t0, cpu0 = time.perf_counter(), tree_cpu(big.proc.pid)
                c.get(series_url, params=series_params).raise_for_status()
                series_cold = time.perf_counter() - t0  # first request: every point is read
                notes["series_first_request_server_cpu_s"] = tree_cpu(big.proc.pid) - cpu0
                series_t = median_request(
                    c,
                    "GET",
                    f"{big.url}/ui-api/metric-series",
                    5,
                    params={"run_ids": big_run, "key": "loss", "max_points": 1000},
                )
                # a zoom: the visible tenth of the series at full resolution, downsampled to 600 px
                zooms, cpu0 = [], tree_cpu(big.proc.pid)
                for k in range(5):  # five different windows, so no answer comes from the cache
                    lo = (k + 2) * a.points // 10
                    t0 = time.perf_counter()
                    c.get(series_url, params={**series_params, "max_points": 1800, "x_axis": "step",
                                              "x_min": lo, "x_max": lo + a.points // 10}).raise_for_status()  # fmt: skip
                    zooms.append(time.perf_counter() - t0)
                zoom_t = statistics.median(zooms)
                notes["server_cpu_ms_per_request zoom step axis"] = round((tree_cpu(big.proc.pid) - cpu0) / 5 * 1000, 1)
                t0 = time.perf_counter()
                c.get(series_url, params={**series_params, "max_points": 1800, "x_axis": "step",
                                          "x_min": a.points // 2, "x_max": a.points // 2 + 500}).raise_for_status()  # fmt: skip
                zoom_narrow = time.perf_counter() - t0
                # the same tenths on the wall-time axis (the chart has drawn the whole series first)
                zooms_time, cpu0 = [], tree_cpu(big.proc.pid)
                for k in range(5):
                    lo = T0 + (k + 2) * a.points // 10 * 10
                    t0 = time.perf_counter()
                    c.get(series_url, params={**series_params, "max_points": 1800, "x_axis": "time",
                                              "x_min": lo, "x_max": lo + a.points // 10 * 10}).raise_for_status()  # fmt: skip
                    zooms_time.append(time.perf_counter() - t0)
                zoom_time_t = statistics.median(zooms_time)
                notes["server_cpu_ms_per_request zoom wall-time axis"] = round((tree_cpu(big.proc.pid) - cpu0) / 5 * 1000, 1)
            # the server restarts between draws so each one reads all points (no series cache)
            big.stop()
            draws, draw_cpu = [], []
            for _ in range(3):
                big = Server(
                    [*labkeep_cmd, "--backend-store-uri", f"sqlite:///{big_db}"], big_db.parent, "/health"
                )
                # a running server has compiled its templates; the series itself stays uncached
                httpx.get(f"{big.url}/runs/{big_run}", timeout=60).raise_for_status()
                ctx = browser.new_context()
                page = ctx.new_page()
                cpu0 = tree_cpu(big.proc.pid)
                page.goto(f"{big.url}/runs/{big_run}")
                page.wait_for_selector("#charts[data-drawn-ms]", timeout=120000)
                draws.append(float(page.get_attribute("#charts", "data-drawn-ms")) / 1000)
                draw_cpu.append(tree_cpu(big.proc.pid) - cpu0)
                ctx.close()
                big.stop()
            chart_draw = statistics.median(draws)
            notes["chart_page_server_cpu_s"] = statistics.median(draw_cpu)
        finally:
            big.stop()
        ml = {"api": None, "fcp": None, "text": None, "weight": None}
        ml_pages: dict[str, float | None] = {}
        ml_series: dict[str, float | None] = {"cold": None, "warm": None, "zoom": None}
        if ml_db is not None:
            mlf = Server(
                [
                    PYTHON,
                    "-m",
                    "mlflow",
                    "server",
                    "--backend-store-uri",
                    f"sqlite:///{ml_db}",
                    "--workers",
                    "1",
                ],
                ml_db.parent,
                "/health",
            )
            try:
                with httpx.Client(timeout=120) as c:
                    ml["api"] = median_request(
                        c,
                        "POST",
                        f"{mlf.url}/ajax-api/2.0/mlflow/runs/search",
                        a.requests,
                        json={
                            "experiment_ids": [ml_exp],
                            "max_results": 100,
                            "order_by": ["attributes.start_time DESC"],
                            "run_view_type": "ACTIVE_ONLY",
                        },
                    )
                    # the requests mlflow's UI makes for the other pages
                    api = f"{mlf.url}/ajax-api/2.0/mlflow"
                    ml_runs = c.post(f"{api}/runs/search", json={"experiment_ids": [ml_exp], "max_results": 100}).json()
                    ml_ids = [r["info"]["run_id"] for r in ml_runs["runs"]]
                    n = max(3, a.requests // 4)
                    ml_pages["experiments list"] = median_request(
                        c, "POST", f"{api}/experiments/search", n, json={"max_results": 25, "order_by": ["last_update_time DESC"]}
                    )
                    ml_pages["run page"] = median_request(c, "GET", f"{api}/runs/get", n, params={"run_id": ml_ids[0]})
                    in_list = ", ".join(f"'{i}'" for i in ml_ids)
                    ml_pages["compare 100 runs"] = median_request(
                        c, "POST", f"{api}/runs/search", n,
                        json={"experiment_ids": [ml_exp], "filter": f"attributes.run_id IN ({in_list})", "max_results": 100},
                    )  # fmt: skip
                ml.update(
                    browser_metrics(
                        browser,
                        f"{mlf.url}/#/experiments/{ml_exp}/runs?workflowType=machine_learning",
                        min(a.loads, 3),
                        f"run-{a.runs - 1:06d}",
                    )
                )
            finally:
                mlf.stop()
        if ml_big_db is not None:
            mlb = Server(
                [PYTHON, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{ml_big_db}", "--workers", "1"],
                ml_big_db.parent,
                "/health",
            )
            try:
                # mlflow reads every point of a sampled series: minutes on a loaded machine
                with httpx.Client(timeout=900) as c:
                    url = f"{mlb.url}/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"
                    base = {"run_ids": ml_big_run, "metric_key": "loss", "max_results": 1000}
                    t0 = time.perf_counter()
                    c.get(url, params=base).raise_for_status()
                    ml_series["cold"] = time.perf_counter() - t0
                    ml_series["warm"] = median_request(c, "GET", url, 5, params=base)
                    zooms = []
                    for k in range(5):
                        lo = (k + 2) * a.points // 10
                        t0 = time.perf_counter()
                        c.get(url, params={**base, "start_step": lo, "end_step": lo + a.points // 10}).raise_for_status()
                        zooms.append(time.perf_counter() - t0)
                    ml_series["zoom"] = statistics.median(zooms)
            except httpx.TimeoutException:  # report what was measured, not a traceback
                notes["mlflow_series_timed_out_after_s"] = 900
            finally:
                mlb.stop()
        browser.close()

    measures += [
        Measure("runs page server time, first 100 runs (labkeep HTML vs mlflow runs/search)", "s", lk_html, ml["api"],
                target=None, notes={"labkeep_json_twin_s": lk_json, "labkeep_rest_search_s": lk_api}),
        Measure("runs page sorted by a metric (server)", "s", lk_sorted, None),
        Measure("runs page filtered by metric+param (server)", "s", lk_filter, None),
        Measure("first contentful paint (Chromium)", "s", lk_browser["fcp"], ml["fcp"]),
        Measure("JS+CSS loaded by the runs page", "KB", lk_browser["weight"] / 1024,
                ml["weight"] / 1024 if ml["weight"] else None),
        # labkeep's run names are part of the first paint (server-rendered rows)
        Measure("time until run names are on screen (Chromium)", "s", lk_browser["fcp"], ml["text"]),
        Measure(f"chart series, {a.points:,} points -> 1000, first request (mlflow: get-history-bulk-interval)", "s",
                series_cold, ml_series["cold"]),
        Measure(f"chart series, {a.points:,} points -> 1000, repeated", "s", series_t, ml_series["warm"]),
        Measure(f"run page open -> {a.points:,}-point chart drawn (Chromium, fresh server)", "s", chart_draw, None),
        Measure(f"zoom refetch, step axis, a tenth of {a.points:,} points (labkeep -> 1800, mlflow -> 1000)", "s",
                zoom_t, ml_series["zoom"]),
        Measure(f"zoom refetch, wall-time axis, a tenth of {a.points:,} points -> 1800", "s", zoom_time_t, None),
        Measure(f"zoom refetch, 500 of {a.points:,} points (full detail)", "s", zoom_narrow, None),
    ] + [
        Measure(f"{label} server time, {a.runs:,} runs", "s", t, ml_pages.get(label))
        for label, t in other_pages.items()
    ]  # fmt: skip
    notes["labkeep_page_html_bytes"] = html_bytes
    notes["load_average_1m_at_end"] = os.getloadavg()[0]
    report("ui", measures, {"notes": notes})


if __name__ == "__main__":
    main()
