"""Scale on PostgreSQL: a cluster behind a load balancer, and one million runs.

``load`` (labkeep and mlflow side by side, same PostgreSQL, same workload): 3 servers × 2 workers
on one fresh database behind HAProxy, 16 concurrent clients talking only to the balancer (threads
with one keep-alive connection each, request bodies encoded before the clock starts):

* ``log_batch``: each client sends 40 requests of 100 metric points to a run of its own (points/s);
* runs: each client creates 100 runs with 5 params and 6 metrics (one ``log-batch`` per run);
* ``runs/get``: 100 reads per client of random runs from that set (p50 / p99 latency);
* ``search-runs``: 10 searches per client, ``metrics.m0 > 0.5 and params.p0 = 'a'`` ordered by
  ``metrics.m1 DESC``, 100 results (p50 / p99 latency).

``million`` (labkeep): one experiment of ``--runs`` runs (default 1,000,000; 5 params and 6
metrics each) bulk-loaded into a PostgreSQL database and a SQLite file (with ``--keep`` both
are kept, under ``bench/.cache`` / database ``lkbench_million_<runs>``, and a kept SQLite file
is reused, migrated to the current schema), plus one run with a metric of 1M steps. Measured
through labkeep's client on the store: ``search_runs`` with a filter and an order,
top 100; the UI runs page's server time; ``get_metric_history`` of the 1M-point metric.

Usage: ``python bench/bench_scale.py [--only load,million] [--runs N] [--quick] [--backends
postgresql,sqlite] [--keep]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cluster import Cluster, create_database, drop_database, haproxy_binary  # noqa: E402
from _harness import Measure, percentile, report, temp_dir  # noqa: E402
from bench_server import Conn  # noqa: E402

API = "/api/2.0/mlflow"
SEARCH = {"filter": "metrics.m0 > 0.5 and params.p0 = 'a'", "order_by": ["metrics.m1 DESC"], "max_results": 100}


def _parallel(clients: int, fn) -> list:
    """Run ``fn(c)`` on ``clients`` threads started together; their results in client order."""
    out: list = [None] * clients
    errors: list[BaseException] = []
    barrier = threading.Barrier(clients)

    def target(c: int) -> None:
        try:
            barrier.wait()
            out[c] = fn(c)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out


def _ok(resp) -> dict:
    resp.raise_for_status()
    return resp.json()


def run_load(kind: str, clients: int, batches: int, runs_per_client: int, reads: int, searches: int) -> dict:
    """The cluster workload on one side; figures in seconds and points/s."""
    name = f"lkbench_scale_{kind}"
    uri = create_database(name)
    try:
        with temp_dir(f"scale-{kind}") as work, Cluster(kind, uri, work) as cluster:
            lb = cluster.url + API
            conns = [Conn() for _ in range(clients)]
            exp = _ok(conns[0].post(lb + "/experiments/create", json={"name": "scale"}))["experiment_id"]
            run_ids = [
                _ok(conns[c].post(lb + "/runs/create", json={"experiment_id": exp, "start_time": 1}))["run"]["info"][
                    "run_id"
                ]
                for c in range(clients)
            ]
            bodies = [
                [
                    json.dumps({"run_id": run_ids[c], "metrics": [
                        {"key": "loss", "value": j * 0.5, "timestamp": 1000 + b, "step": b * 100 + j}
                        for j in range(100)]}).encode()  # fmt: skip
                    for b in range(batches)
                ]
                for c in range(clients)
            ]
            headers = {"Content-Type": "application/json"}

            def log_batches(c: int) -> None:
                for body in bodies[c]:
                    conns[c].post(lb + "/runs/log-batch", data=body, headers=headers).raise_for_status()

            t0 = time.perf_counter()
            _parallel(clients, log_batches)
            points_per_s = clients * batches * 100 / (time.perf_counter() - t0)

            def make_runs(c: int) -> list[str]:
                rng = random.Random(c)
                ids = []
                for i in range(runs_per_client):
                    info = _ok(conns[c].post(lb + "/runs/create", json={"experiment_id": exp, "start_time": i}))
                    run_id = info["run"]["info"]["run_id"]
                    conns[c].post(lb + "/runs/log-batch", json={
                        "run_id": run_id,
                        "params": [{"key": f"p{k}", "value": rng.choice("abcd")} for k in range(5)],
                        "metrics": [{"key": f"m{k}", "value": rng.random(), "timestamp": 1, "step": 0}
                                    for k in range(6)],
                    }).raise_for_status()  # fmt: skip
                    ids.append(run_id)
                return ids

            t0 = time.perf_counter()
            all_ids = [r for ids in _parallel(clients, make_runs) for r in ids]
            runs_per_s = len(all_ids) / (time.perf_counter() - t0)

            def get_runs(c: int) -> list[float]:
                rng, lat = random.Random(100 + c), []
                for _ in range(reads):
                    t = time.perf_counter()
                    conns[c].get(lb + "/runs/get", params={"run_id": rng.choice(all_ids)}).raise_for_status()
                    lat.append(time.perf_counter() - t)
                return lat

            get_lat = [x for lat in _parallel(clients, get_runs) for x in lat]
            body = json.dumps({"experiment_ids": [exp], **SEARCH}).encode()

            def search(c: int) -> list[float]:
                lat = []
                for _ in range(searches):
                    t = time.perf_counter()
                    got = _ok(conns[c].post(lb + "/runs/search", data=body, headers=headers))
                    lat.append(time.perf_counter() - t)
                    values = [
                        next(m["value"] for m in r["data"]["metrics"] if m["key"] == "m1") for r in got["runs"]
                    ]
                    assert values == sorted(values, reverse=True) and len(values) == min(100, len(values))
                return lat

            search_lat = [x for lat in _parallel(clients, search) for x in lat]
            return {
                "points_per_s": points_per_s,
                "runs_per_s": runs_per_s,
                "get_p50": percentile(get_lat, 50),
                "get_p99": percentile(get_lat, 99),
                "search_p50": percentile(search_lat, 50),
                "search_p99": percentile(search_lat, 99),
            }
    finally:
        drop_database(name)


def bench_load(args: argparse.Namespace) -> list[Measure]:
    if haproxy_binary() is None:
        sys.exit("error: HAProxy is not installed (apt-get install haproxy, or run scripts/test.sh once)")
    sizes = dict(clients=16, batches=40, runs_per_client=100, reads=100, searches=10)
    if args.quick:
        sizes.update(batches=5, runs_per_client=10, reads=20, searches=3)
    if args.sizes:
        sizes.update({k: int(v) for k, v in (kv.split("=") for kv in args.sizes.split(","))})
    res = {}
    sides = [x for x in args.sides.split(",") if x]
    if sides != ["labkeep", "mlflow"]:  # one side only: print its figures, no ratios
        for kind in sides:
            print(f"load: {kind}: {json.dumps(run_load(kind, **sizes))}", file=sys.stderr, flush=True)
        return []
    for kind in ("labkeep", "mlflow"):
        print(f"load: {kind} cluster (3 servers x 2 workers, HAProxy, PostgreSQL) {sizes} ...", file=sys.stderr, flush=True)
        res[kind] = run_load(kind, **sizes)
        print(f"load: {kind}: {json.dumps(res[kind])}", file=sys.stderr, flush=True)
    lk, ml = res["labkeep"], res["mlflow"]
    return [
        Measure("cluster log_batch, 16 clients", "points/s", lk["points_per_s"], ml["points_per_s"], False, 10),
        Measure("cluster runs created (5 params + 6 metrics)", "runs/s", lk["runs_per_s"], ml["runs_per_s"], False),
        Measure("cluster runs/get p50", "s", lk["get_p50"], ml["get_p50"]),
        Measure("cluster runs/get p99", "s", lk["get_p99"], ml["get_p99"]),
        Measure("cluster search-runs p50 (filter+order, top 100)", "s", lk["search_p50"], ml["search_p50"]),
        Measure("cluster search-runs p99", "s", lk["search_p99"], ml["search_p99"]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="load,million", help="comma-separated: load, million")
    parser.add_argument("--runs", type=int, default=1_000_000, help="runs in the million-runs experiment")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run, not figures)")
    parser.add_argument("--backends", default="postgresql,sqlite", help="million: postgresql, sqlite or both")
    parser.add_argument(
        "--keep", action="store_true", help="million: keep the loaded stores; reuse a kept SQLite file"
    )
    parser.add_argument("--sides", default="labkeep,mlflow", help="load: run only one side, e.g. labkeep")
    parser.add_argument("--sizes", default="", help="load sizes, e.g. batches=20,runs_per_client=50,reads=50,searches=5")
    args = parser.parse_args()
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    measures: list[Measure] = []
    extra: dict = {}
    if "load" in only:
        measures += bench_load(args)
    if "million" in only:
        from _million import bench_million

        runs = args.runs if not args.quick else min(args.runs, 20_000)
        backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
        m, extra["million"] = bench_million(runs, keep=args.keep, backends=backends)
        measures += m
    report("scale", measures, extra)


if __name__ == "__main__":
    main()
