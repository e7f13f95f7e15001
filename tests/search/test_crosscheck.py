"""The SQL builders and the in-memory evaluator agree on randomized runs, filters and orderings.

Values are drawn to hit the edges: NaN and infinite metrics, missing keys, mixed case, LIKE
wildcards inside values, NULL end times and ties on start_time. The seed is fixed, so a failure
reproduces; the failing filter/order is in the assertion message.
"""

from __future__ import annotations

import math
import random

import pytest
from search_helpers import insert, metric_row, query

from labkeep.entities import Dataset, DatasetInput, InputTag, Metric, Run, RunData, RunInfo
from labkeep.search import build_runs_query
from labkeep.search.evaluate import MetricPoint, Record, record_from_run, search_records

SEED = 20240611
N_RUNS = 40
METRIC_VALUES = [-1.5, 0.0, 0.5, 2.0, 3.0, math.nan, math.inf, -math.inf]
STRINGS = ["a", "A", "ab", "aB", "a_b", "x%y", "", "B", "b!c"]
NAMES = ["alpha", "Alpha", "beta", "b_ta", "a%b", "gamma"]
DATASETS = [("ds1", "d1"), ("ds2", "d2"), ("DS3", "d3")]
CONTEXTS = ["training", "eval", None]


def make_records(rng: random.Random) -> list[Record]:
    records = []
    for i in range(N_RUNS):
        rid = f"run{i:03d}"
        metrics = [
            MetricPoint(k, rng.choice(METRIC_VALUES), 0, 1) for k in ("m1", "m2") if rng.random() < 0.75
        ]
        params = {k: rng.choice(STRINGS) for k in ("p1", "p2") if rng.random() < 0.7}
        tags = {k: rng.choice(STRINGS) for k in ("t1",) if rng.random() < 0.6}
        datasets = [
            {"name": n, "digest": d, "context": rng.choice(CONTEXTS)}
            for n, d in DATASETS
            if rng.random() < 0.35
        ]
        records.append(
            Record(
                id=rid,
                attributes={
                    "run_id": rid,
                    "run_name": rng.choice(NAMES),
                    "status": rng.choice(["RUNNING", "FINISHED", "FAILED"]),
                    "user_id": rng.choice(["alice", "Bob", "carol"]),
                    "artifact_uri": f"file:///a/{rid}",
                    "start_time": rng.randint(0, 8),
                    "end_time": rng.choice([None, rng.randint(5, 15)]),
                },
                metrics=metrics,
                params=params,
                tags=tags,
                datasets=datasets,
            )
        )
    return records


def random_clause(rng: random.Random) -> str:
    kind = rng.choice(["metric", "metric", "param", "tag", "attr", "dataset"])
    if kind == "metric":
        op = rng.choice(["=", "!=", "<", "<=", ">", ">="])
        value = rng.choice(["-1.5", "0", "0.5", "1", "2", "3", "1e400", "-1e400"])
        return f"metrics.{rng.choice(['m1', 'm2', 'nope'])} {op} {value}"
    if kind in ("param", "tag"):
        key = rng.choice(["p1", "p2"]) if kind == "param" else "t1"
        op = rng.choice(["=", "!=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"])
        if "NULL" in op:
            return f"{kind}s.{key} {op}"
        value = rng.choice(STRINGS + ["a%", "%b", "_", "%", "A%", "x!%y", "b!c", "%!%"])
        return f"{kind}s.{key} {op} '{value}'"
    if kind == "attr":
        choice = rng.choice(["run_id", "run_name", "status", "user_id", "start_time", "end_time"])
        if choice == "run_id":
            ids = ", ".join(f"'run{rng.randrange(N_RUNS):03d}'" for _ in range(3))
            return f"attributes.run_id {rng.choice(['IN', 'NOT IN'])} ({ids})"
        if choice in ("start_time", "end_time"):
            return f"{choice} {rng.choice(['=', '!=', '<', '>=', '>'])} {rng.randint(0, 12)}"
        op = rng.choice(["=", "!=", "LIKE", "ILIKE"])
        value = rng.choice(NAMES + ["alice", "bob", "RUNNING", "a%", "%a", "_eta", "%!%%"])
        return f"{choice} {op} '{value}'"
    op = rng.choice(["=", "!=", "IN", "NOT IN", "LIKE", "ILIKE"])
    field = rng.choice(["name", "digest", "context"])
    values = ["ds1", "DS3", "d2", "training", "eval", "ds%", "D%"]
    if "IN" in op:
        return f"datasets.{field} {op} ('{rng.choice(values)}', '{rng.choice(values)}')"
    return f"datasets.{field} {op} '{rng.choice(values)}'"


ORDER_KEYS = [
    "metrics.m1",
    "metrics.m2",
    "params.p1",
    "tags.t1",
    "start_time",
    "end_time",
    "run_name",
    "status",
    "user_id",
]


def random_order(rng: random.Random) -> list[str]:
    keys = rng.sample(ORDER_KEYS, rng.randint(0, 2))
    return [f"{k} {rng.choice(['ASC', 'DESC', ''])}".strip() for k in keys]


@pytest.fixture(scope="module")
def db_and_records(backend_db):
    records = make_records(random.Random(SEED))
    runs, latest, params, tags, inputs = [], [], [], [], []
    for r in records:
        a = r.attributes
        runs.append(
            dict(
                run_id=r.id,
                experiment_id=1,
                name=a["run_name"],
                user_id=a["user_id"],
                status=a["status"],
                start_time=a["start_time"],
                end_time=a["end_time"],
                artifact_uri=a["artifact_uri"],
                lifecycle_stage="active",
            )
        )
        for p in r.metrics:
            value, kind = metric_row(p.value)
            latest.append(dict(run_id=r.id, name=p.key, step=p.step, ts=p.timestamp, value=value, kind=kind))
        params += [dict(run_id=r.id, name=k, value=v) for k, v in r.params.items()]
        tags += [dict(run_id=r.id, name=k, value=v) for k, v in r.tags.items()]
        inputs += [
            dict(run_id=r.id, dataset_id=d["name"], context=d["context"], tags="{}") for d in r.datasets
        ]
    insert(backend_db, "runs", runs)
    insert(backend_db, "latest_metrics", latest)
    insert(backend_db, "params", params)
    insert(backend_db, "tags", tags)
    insert(backend_db, "run_inputs", inputs)
    insert(
        backend_db,
        "datasets",
        [
            dict(dataset_id=n, experiment_id=1, name=n, digest=d, source_type="local", source="{}")
            for n, d in DATASETS
        ],
    )
    return backend_db, records


def test_sql_and_evaluate_agree(db_and_records):
    db, records = db_and_records
    rng = random.Random(SEED + 1)
    checked = nonempty = 0
    for _ in range(150):
        filter_string = " AND ".join(random_clause(rng) for _ in range(rng.randint(1, 3)))
        order_by = random_order(rng)
        sql = build_runs_query(["1"], ("active",), filter_string, order_by, 1000, 0, db.dialect)
        got = query(db, sql)
        expected = [r.id for r in search_records("runs", records, filter_string, order_by)]
        assert got == expected, f"filter={filter_string!r} order_by={order_by!r}"
        checked += 1
        nonempty += bool(expected)
    assert checked == 150 and nonempty > 40  # the generator must produce matching filters too


def test_orderings_agree_on_all_rows(db_and_records):
    db, records = db_and_records
    rng = random.Random(SEED + 2)
    for _ in range(40):
        order_by = random_order(rng) or ["metrics.m1 DESC"]
        got = query(db, build_runs_query(["1"], ("active",), None, order_by, 1000, 0, db.dialect))
        assert got == [r.id for r in search_records("runs", records, None, order_by)], order_by


def test_record_from_run_entity():
    run = Run(
        info=RunInfo(
            run_id="r1",
            experiment_id="1",
            user_id="u",
            status="FINISHED",
            start_time=5,
            end_time=None,
            artifact_uri="file:///x",
            run_name="nice",
        ),
        data=RunData(
            metric_objs=[Metric("acc", 0.5, 10, 0), Metric("acc", 0.9, 5, 1), Metric("nan", math.nan, 1, 0)],
            params={"p": "v"},
            tags={"mlflow.runName": "nice"},
        ),
    )
    run.inputs.dataset_inputs.append(
        DatasetInput(Dataset("mnist", "abc", "local", "{}"), [InputTag("mlflow.data.context", "training")])
    )
    rec = record_from_run(run)
    assert [r.id for r in search_records("runs", [rec], "metrics.acc > 0.8")] == ["r1"]  # step 1 is latest
    assert search_records("runs", [rec], "metrics.nan != 1")
    assert not search_records("runs", [rec], "metrics.nan = 0")
    assert search_records("runs", [rec], "datasets.context = 'training' AND run_name LIKE 'ni%'")
    assert not search_records("runs", [rec], "end_time != 3")  # NULL never matches
    assert search_records("runs", [rec], "params.p = 'v' AND tags.missing IS NULL")


def test_metric_index_walk_agrees_with_sort(db_and_records, monkeypatch):
    """SQLite and PostgreSQL answer metric-first orders by walking the metric index; deep pages sort."""
    import labkeep.search.to_sql as to_sql

    db, records = db_and_records
    if db.dialect not in ("sqlite", "postgresql"):
        pytest.skip("the index walk is a SQLite and PostgreSQL plan")
    rng = random.Random(SEED + 3)
    for _ in range(60):
        filter_string = " AND ".join(random_clause(rng) for _ in range(rng.randint(0, 2))) or None
        first = rng.choice(["metrics.m1", "metrics.m2", "metrics.none"])
        order_by = [f"{first} {rng.choice(['ASC', 'DESC'])}"]
        extra = rng.choice([*ORDER_KEYS, None, None])
        if extra and extra != first:
            order_by.append(f"{extra} {rng.choice(['ASC', 'DESC'])}")
        limit, offset = rng.choice([(5, 0), (5, 10), (100, 0), (3, 37)])
        walked = build_runs_query(["1"], ("active",), filter_string, order_by, limit, offset, db.dialect)
        assert " UNION ALL " in walked[0]
        monkeypatch.setattr(to_sql, "SQLITE_METRIC_WALK_MAX", 0)
        monkeypatch.setattr(to_sql, "POSTGRES_METRIC_WALK_MAX", 0)
        sorted_ = build_runs_query(["1"], ("active",), filter_string, order_by, limit, offset, db.dialect)
        monkeypatch.undo()
        assert " UNION ALL " not in sorted_[0]
        expected = [r.id for r in search_records("runs", records, filter_string, order_by)][
            offset : offset + limit
        ]
        assert query(db, walked) == query(db, sorted_) == expected, (filter_string, order_by, limit, offset)
