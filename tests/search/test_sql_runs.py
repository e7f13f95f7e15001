"""search_runs SQL on real databases: filters, NaN/inf, missing keys, LIKE/ILIKE, ordering, paging."""

from __future__ import annotations

import math

import pytest
from search_helpers import insert, metric_row, query

from labkeep.exceptions import InvalidParameterValue
from labkeep.search import build_runs_query

INF = math.inf
NAN = math.nan

# run_id: (experiment, name, user, status, start, end, stage)
RUNS = {
    "r1": (1, "alpha", "alice", "FINISHED", 100, 200, "active"),
    "r2": (1, "Alpha2", "bob", "RUNNING", 200, None, "active"),
    "r3": (1, "beta", "alice", "FAILED", 300, 400, "active"),
    "r4": (1, "gamma", "carol", "FINISHED", 400, 500, "deleted"),
    "r5": (2, "delta", "dave", "FINISHED", 150, 160, "active"),
    "r6": (1, "eps", "erin", "RUNNING", 300, None, "active"),
    "r7": (1, "zeta", "zed", "RUNNING", 50, None, "active"),
}
METRICS = {
    ("r1", "acc"): 0.5,
    ("r2", "acc"): NAN,
    ("r3", "acc"): INF,
    ("r6", "acc"): -INF,
    ("r4", "acc"): 0.9,
    ("r5", "acc"): 0.7,
    ("r1", "loss"): 1.0,
    ("r3", "loss"): 2.0,
}
PARAMS = {("r1", "lr"): "0.01", ("r2", "lr"): "0.1", ("r3", "lr"): "ABC", ("r6", "opt"): "adam"}
TAGS = {
    ("r1", "team"): "Vision",
    ("r2", "team"): "vision",
    ("r3", "team"): "nlp_x",
    ("r1", "note"): "a!b",
    ("r2", "note"): "a_b",
    ("r3", "note"): "a%b",
    ("r6", "path"): "C:\\dir\\x",
    ("r1", "odd key"): "v",
    ("r1", "sp"): "a ",
    ("r2", "sp"): "a",
}
# run_id -> [(dataset name, digest, context)]
INPUTS = {"r1": [("mnist", "abc", "training")], "r3": [("cifar", "def", "eval"), ("mnist", "abc", None)]}


@pytest.fixture(scope="module")
def db(backend_db):
    insert(
        backend_db,
        "runs",
        [
            dict(
                run_id=rid,
                experiment_id=e,
                name=name,
                user_id=user,
                status=status,
                start_time=start,
                end_time=end,
                artifact_uri=f"s3://bucket/{rid}",
                lifecycle_stage=stage,
            )
            for rid, (e, name, user, status, start, end, stage) in RUNS.items()
        ],
    )
    rows = []
    for (rid, key), v in METRICS.items():
        value, kind = metric_row(v)
        rows.append(dict(run_id=rid, name=key, step=0, ts=1, value=value, kind=kind))
    insert(backend_db, "latest_metrics", rows)
    insert(backend_db, "params", [dict(run_id=r, name=k, value=v) for (r, k), v in PARAMS.items()])
    tags = [dict(run_id=r, name=k, value=v) for (r, k), v in TAGS.items()]
    tags += [dict(run_id=r, name="mlflow.runName", value=spec[1]) for r, spec in RUNS.items()]
    insert(backend_db, "tags", tags)
    datasets = {("mnist", "abc"): "ds1", ("cifar", "def"): "ds2"}
    insert(
        backend_db,
        "datasets",
        [
            dict(dataset_id=i, experiment_id=1, name=n, digest=d, source_type="local", source="{}")
            for (n, d), i in datasets.items()
        ],
    )
    insert(
        backend_db,
        "run_inputs",
        [
            dict(run_id=r, dataset_id=datasets[(n, d)], context=c, tags="{}")
            for r, items in INPUTS.items()
            for n, d, c in items
        ],
    )
    return backend_db


def search(db, filter_string=None, order_by=None, exps=("1",), stages=("active",), limit=100, offset=0):
    built = build_runs_query(list(exps), tuple(stages), filter_string, order_by, limit, offset, db.dialect)
    return query(db, built)


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        (None, {"r1", "r2", "r3", "r6", "r7"}),
        ("", {"r1", "r2", "r3", "r6", "r7"}),
        # metrics: latest value, NaN only matches !=, infinities compare as such, missing never matches
        ("metrics.acc > 0.4", {"r1", "r3"}),
        ("metrics.acc = 0.5", {"r1"}),
        ("metrics.acc != 0.5", {"r2", "r3", "r6"}),
        ("metrics.acc < 0", {"r6"}),
        ("metrics.acc >= 1e400", {"r3"}),
        ("metrics.acc <= -1e400", {"r6"}),
        ("metrics.acc > -1e400", {"r1", "r3"}),
        ("metrics.acc = 1.7976931348623157e308", set()),
        ("metrics.loss != 5", {"r1", "r3"}),
        ("metric.loss >= 1 AND metrics.loss < 2", {"r1"}),
        # params and tags: case-sensitive =, LIKE; ILIKE; IS [NOT] NULL; missing never matches
        ("params.lr = '0.1'", {"r2"}),
        ("params.lr != '0.1'", {"r1", "r3"}),
        ("params.lr LIKE '0.%'", {"r1", "r2"}),
        ("params.lr LIKE 'abc'", set()),
        ("params.lr ILIKE 'abc'", {"r3"}),
        ("param.lr IS NULL", {"r6", "r7"}),
        ("parameters.lr is not null", {"r1", "r2", "r3"}),
        ("tags.team = 'vision'", {"r2"}),
        ("tags.team ILIKE 'VISION'", {"r1", "r2"}),
        ("tags.team like '%i%'", {"r1", "r2"}),
        ("tags.note LIKE 'a!b'", {"r1"}),
        ("tags.note LIKE 'a_b'", {"r1", "r2", "r3"}),
        ("tags.note = 'a%b'", {"r3"}),
        ("tags.note = 'a_b'", {"r2"}),
        ("tags.note != 'a_b'", {"r1", "r3"}),
        # trailing spaces are significant (MySQL's PAD SPACE collations notwithstanding)
        ("tags.sp = 'a'", {"r2"}),
        ("tags.sp = 'a '", {"r1"}),
        ("tags.sp != 'a'", {"r1"}),
        ("tags.sp LIKE 'a'", {"r2"}),
        ("tags.path LIKE 'C:\\dir%'", {"r6"}),
        ("tags.path = 'C:\\dir\\x'", {"r6"}),
        ("tags.`odd key` = 'v'", {"r1"}),
        ('tags."odd key" = "v"', {"r1"}),
        ("tags.mlflow.runName = 'beta'", {"r3"}),
        ("tags.`mlflow.runName` LIKE '%a'", {"r1", "r3", "r7"}),
        ("tag.team IS NULL", {"r6", "r7"}),
        # attributes
        ("attributes.run_id IN ('r1', 'r2', 'r4')", {"r1", "r2"}),
        ("run_id NOT IN ('r1')", {"r2", "r3", "r6", "r7"}),
        ("run_id LIKE 'r_'", {"r1", "r2", "r3", "r6", "r7"}),
        ("attributes.run_id IN ('r1 ', 'r2')", {"r2"}),
        ("attributes.run_id NOT IN ('r1 ', 'r2')", {"r1", "r3", "r6", "r7"}),
        ("run_name = 'alpha '", set()),
        ("run_name = 'alpha'", {"r1"}),
        ("`Run Name` LIKE 'Alpha%'", {"r2"}),
        ("`run name` ILIKE 'alpha%'", {"r1", "r2"}),
        ("attr.status = 'RUNNING'", {"r2", "r6", "r7"}),
        ("run.user_id != 'alice'", {"r2", "r6", "r7"}),
        ("artifact_uri LIKE 's3://bucket/r1'", {"r1"}),
        ("created >= 300", {"r3", "r6"}),
        ("Created < 100", {"r7"}),
        ("attributes.start_time = 200", {"r2"}),
        ("end_time != 200", {"r3"}),
        ("end_time > 0", {"r1", "r3"}),
        ("start_time < 1e400", {"r1", "r2", "r3", "r6", "r7"}),
        ("start_time > 1e400", set()),
        # datasets: any input matches; context is the input's context
        ("datasets.name = 'mnist'", {"r1", "r3"}),
        ("dataset.name != 'mnist'", {"r3"}),
        ("datasets.digest IN ('def')", {"r3"}),
        ("datasets.context = 'training'", {"r1"}),
        ("datasets.context NOT IN ('training')", {"r3"}),
        ("datasets.name ILIKE 'MN%'", {"r1", "r3"}),
        # conjunctions
        ("user_id = 'alice' and metrics.acc > 0 AND params.lr LIKE '%'", {"r1", "r3"}),
        ("metrics.acc != 0.5 AND tags.team IS NOT NULL", {"r2", "r3"}),
    ],
)
def test_filters(db, filter_string, expected):
    assert set(search(db, filter_string)) == expected


def test_scope_by_experiment_and_lifecycle(db):
    assert set(search(db, exps=("1", "2"))) == {"r1", "r2", "r3", "r5", "r6", "r7"}
    assert search(db, stages=("deleted",)) == ["r4"]
    assert set(search(db, stages=("active", "deleted"), exps=(2,))) == {"r5"}
    assert search(db, exps=()) == []
    assert search(db, exps=("99",)) == []


@pytest.mark.parametrize(
    "order_by, expected",
    [
        (None, ["r3", "r6", "r2", "r1", "r7"]),  # start_time DESC, then run_id ASC
        (["start_time ASC"], ["r7", "r1", "r2", "r3", "r6"]),
        (["created DESC"], ["r3", "r6", "r2", "r1", "r7"]),
        # metrics: -inf < numbers < +inf, then NaN, then missing -- in both directions
        (["metrics.acc ASC"], ["r6", "r1", "r3", "r2", "r7"]),
        (["metrics.acc DESC"], ["r3", "r1", "r6", "r2", "r7"]),
        (["metrics.loss desc"], ["r3", "r1", "r6", "r2", "r7"]),
        # params/tags: code-point order, missing last both ways (ties by start_time DESC, run_id)
        (["params.lr"], ["r1", "r2", "r3", "r6", "r7"]),
        (["params.lr DESC"], ["r3", "r2", "r1", "r6", "r7"]),
        (["tags.team ASC"], ["r1", "r3", "r2", "r6", "r7"]),
        (["tags.team DESC"], ["r2", "r3", "r1", "r6", "r7"]),
        # NULL attributes last both ways
        (["attributes.end_time ASC"], ["r1", "r3", "r6", "r2", "r7"]),
        (["end_time DESC"], ["r3", "r1", "r6", "r2", "r7"]),
        (["run_name"], ["r2", "r1", "r3", "r6", "r7"]),
        (["`Run name` DESC"], ["r7", "r6", "r3", "r1", "r2"]),
        (["status", "run_id DESC"], ["r3", "r1", "r7", "r6", "r2"]),
        (["user_id DESC", "metrics.acc"], ["r7", "r6", "r2", "r1", "r3"]),
        (["artifact_uri DESC"], ["r7", "r6", "r3", "r2", "r1"]),
    ],
)
def test_order(db, order_by, expected):
    assert search(db, order_by=order_by) == expected


def test_paging_with_limit_and_offset(db):
    full = search(db, order_by=["metrics.acc DESC"])
    pages = [search(db, order_by=["metrics.acc DESC"], limit=2, offset=o) for o in (0, 2, 4, 6)]
    assert pages[0] + pages[1] + pages[2] == full
    assert pages[3] == []


@pytest.mark.parametrize(
    "filter_string, order_by",
    [
        ("metrics.acc > '1'", None),
        ("params.lr = 1", None),
        ("metrics.acc IS NULL", None),
        ("status IN ('RUNNING')", None),
        ("metrics.acc > 1 OR params.lr = 'x'", None),
        (None, ["metrics.acc", "metrics.acc DESC"]),
        (None, ["start_time", "created"]),
        (None, ["timestamp"]),
    ],
)
def test_errors(db, filter_string, order_by):
    with pytest.raises(InvalidParameterValue):
        search(db, filter_string, order_by)


def test_bad_experiment_id_is_rejected(db):
    with pytest.raises(InvalidParameterValue, match="not an integer"):
        search(db, exps=("abc",))
