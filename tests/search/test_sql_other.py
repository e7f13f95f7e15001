"""search_experiments / registered models / model versions / logged models SQL on real databases."""

from __future__ import annotations

import math

import pytest
from search_helpers import insert, metric_row, query

from labkeep.exceptions import InvalidParameterValue
from labkeep.search import (
    build_experiments_query,
    build_logged_models_query,
    build_model_versions_query,
    build_registered_models_query,
)

PROMPT = "mlflow.prompt.is_prompt"


@pytest.fixture(scope="module")
def db(backend_db):
    d = backend_db
    # experiments: id -> (name, creation_time, last_update_time, stage)
    exps = {
        1: ("exp-A", 100, 500, "active"),
        2: ("exp-b", 300, 300, "active"),
        3: ("Other", 200, 250, "active"),
        4: ("gone", 50, 50, "deleted"),
        10: ("exp-ten", 300, 310, "active"),
    }
    insert(
        d,
        "experiments",
        [
            dict(
                experiment_id=i,
                name=n,
                artifact_location=f"/a/{i}",
                lifecycle_stage=s,
                creation_time=c,
                last_update_time=u,
            )
            for i, (n, c, u, s) in exps.items()
        ],
    )
    insert(
        d,
        "experiment_tags",
        [
            dict(experiment_id=1, name="owner", value="me"),
            dict(experiment_id=3, name="owner", value="you"),
            dict(experiment_id=4, name="owner", value="me"),
        ],
    )
    # registered models: name -> last_updated_time
    models = {"model-a": 300, "Model-B": 100, "prompt-1": 200, "model-c": 300}
    insert(
        d,
        "registered_models",
        [
            dict(name=n, creation_time=10, last_updated_time=t, description=None, user_id=None)
            for n, t in models.items()
        ],
    )
    insert(
        d,
        "registered_model_tags",
        [
            dict(model_name="prompt-1", name=PROMPT, value="true"),
            dict(model_name="model-c", name=PROMPT, value="false"),
            dict(model_name="model-c", name="team", value="x"),
        ],
    )
    # versions: (model, version, creation, last_updated, source, run_id, deleted)
    versions = [
        ("model-a", 1, 10, 50, "s3://x/1", "r1", 0),
        ("model-a", 2, 20, 60, "s3://x/2", "r2", 0),
        ("model-a", 3, 30, 90, "s3://x/3", "r3", 1),
        ("Model-B", 1, 15, 60, "/local/b", None, 0),
        ("prompt-1", 1, 40, 70, "prompt://p", None, 0),
    ]
    insert(
        d,
        "model_versions",
        [
            dict(
                model_name=m,
                version=v,
                creation_time=c,
                last_updated_time=u,
                current_stage="None",
                source=s,
                run_id=r,
                status="READY",
                deleted=x,
            )
            for m, v, c, u, s, r, x in versions
        ],
    )
    insert(
        d,
        "model_version_tags",
        [
            dict(model_name="prompt-1", version=1, name=PROMPT, value="true"),
            dict(model_name="model-a", version=2, name="stage", value="Prod"),
        ],
    )
    # logged models: id -> (experiment, name, created, status, stage, type, source run)
    lms = {
        "m1": (1, "model_1", 100, 2, "active", "sklearn", "r1"),
        "m2": (1, "model_2", 200, 1, "active", None, None),
        "m3": (1, "model_3", 300, 2, "deleted", None, None),
        "m4": (2, "model_4", 150, 2, "active", None, None),
        "m5": (1, "Model_5", 50, 3, "active", "torch", "r2"),
    }
    insert(
        d,
        "logged_models",
        [
            dict(
                model_id=i,
                experiment_id=e,
                name=n,
                artifact_location=f"/lm/{i}",
                creation_timestamp=c,
                last_updated_timestamp=c + 1,
                status=st,
                lifecycle_stage=s,
                model_type=t,
                source_run_id=r,
            )
            for i, (e, n, c, st, s, t, r) in lms.items()
        ],
    )
    insert(
        d,
        "logged_model_params",
        [dict(model_id="m1", name="p", value="a"), dict(model_id="m2", name="p", value="b")],
    )
    insert(d, "logged_model_tags", [dict(model_id="m1", name="t", value="x")])
    # metric history of logged models: (model, key, step, ts, value, dataset name, digest)
    points = [
        ("m1", "acc", 0, 1, 0.1, "train", "d1"),
        ("m1", "acc", 1, 2, 0.9, "train", "d1"),
        ("m1", "acc", 0, 3, 0.5, "test", "d2"),
        ("m2", "acc", 0, 1, 0.95, "test", "d2"),
        ("m2", "acc", 1, 1, 0.7, "test", "d2"),
        ("m5", "acc", 0, 1, math.nan, None, None),
        ("m3", "acc", 0, 1, 0.99, None, None),
    ]
    rows = []
    for m, k, step, ts, v, dn, dd in points:
        value, kind = metric_row(v)
        rows.append(
            dict(
                run_id="r0",
                name=k,
                step=step,
                ts=ts,
                value=value,
                kind=kind,
                model_id=m,
                dataset_name=dn,
                dataset_digest=dd,
            )
        )
    insert(d, "metrics", rows)
    insert(d, "model_metrics", rows)  # the store writes a model's points to both
    return d


# ---------------------------------------------------------------- experiments
def experiments(db, filter_string=None, order_by=None, stages=("active",), limit=100, offset=0):
    ids = query(
        db, build_experiments_query(tuple(stages), filter_string, order_by, limit, offset, db.dialect)
    )
    return [int(i) for i in ids]


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        (None, [2, 10, 3, 1]),  # creation_time DESC, experiment_id ASC
        ("name LIKE 'exp-%'", [2, 10, 1]),
        ("name LIKE 'EXP-%'", []),
        ("name ILIKE 'EXP-%'", [2, 10, 1]),
        ("name = 'Other'", [3]),
        ("name != 'Other'", [2, 10, 1]),
        ("experiment_id = '2'", [2]),
        ("experiment_id != '2'", [10, 3, 1]),
        ("experiment_id IN ('1', '3', '4')", [3, 1]),
        ("experiment_id NOT IN ('1')", [2, 10, 3]),
        ("tags.owner IS NULL", [2, 10]),
        ("tags.owner IS NOT NULL", [3, 1]),
        ("tags.owner = 'me'", [1]),
        ("tags.owner != 'me'", [3]),
        ("creation_time >= 200", [2, 10, 3]),
        ("last_update_time < 300 and name LIKE '%e%'", [3]),
    ],
)
def test_experiment_filters(db, filter_string, expected):
    assert experiments(db, filter_string) == expected


@pytest.mark.parametrize(
    "order_by, expected",
    [
        (["name"], [3, 1, 2, 10]),
        (["name DESC"], [10, 2, 1, 3]),
        (["creation_time DESC"], [10, 2, 3, 1]),  # tie broken by experiment_id DESC
        (["creation_time"], [1, 3, 10, 2]),
        (["last_update_time DESC"], [1, 10, 2, 3]),
        (["experiment_id DESC"], [10, 3, 2, 1]),
    ],
)
def test_experiment_order(db, order_by, expected):
    assert experiments(db, order_by=order_by) == expected


def test_experiment_scope_and_paging(db):
    assert experiments(db, stages=("deleted",)) == [4]
    assert experiments(db, "tags.owner = 'me'", stages=("active", "deleted")) == [1, 4]
    assert experiments(db, limit=2) == [2, 10]
    assert experiments(db, limit=2, offset=2) == [3, 1]
    assert experiments(db, limit=2, offset=4) == []


@pytest.mark.parametrize(
    "filter_string, order_by",
    [
        ("experiment_id > '1'", None),
        ("name IN ('x')", None),
        (None, ["tags.owner"]),
        (None, ["name", "name"]),
    ],
)
def test_experiment_errors(db, filter_string, order_by):
    with pytest.raises(InvalidParameterValue):
        experiments(db, filter_string, order_by)


# ---------------------------------------------------------------- registered models
def registered(db, filter_string=None, order_by=None, limit=100, offset=0):
    return query(db, build_registered_models_query(filter_string, order_by, limit, offset, db.dialect))


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        (None, ["Model-B", "model-a", "model-c"]),  # prompts hidden, name ASC by code point
        (f"tags.`{PROMPT}` = 'true'", ["prompt-1"]),
        (f"tag.`{PROMPT}` != 'true'", ["Model-B", "model-a", "model-c"]),
        (f"tags.`{PROMPT}` = 'false'", ["Model-B", "model-a", "model-c"]),
        (f"tags.`{PROMPT}` LIKE '%'", ["Model-B", "model-a", "model-c", "prompt-1"]),
        ("name LIKE 'model%'", ["model-a", "model-c"]),
        ("name ILIKE 'model%'", ["Model-B", "model-a", "model-c"]),
        ("name IN ('model-a', 'prompt-1')", ["model-a"]),
        ("name NOT IN ('model-a')", ["Model-B", "model-c"]),
        ("attribute.name != 'Model-B'", ["model-a", "model-c"]),
        ("tags.team = 'x'", ["model-c"]),
        ("tags.team != 'y'", ["model-c"]),
        (f"name = 'model-c' AND tags.`{PROMPT}` != 'true' AND tags.team LIKE 'x'", ["model-c"]),
    ],
)
def test_registered_model_filters(db, filter_string, expected):
    assert registered(db, filter_string) == expected


@pytest.mark.parametrize(
    "order_by, expected",
    [
        (["name DESC"], ["model-c", "model-a", "Model-B"]),
        (["timestamp DESC"], ["model-a", "model-c", "Model-B"]),
        (["last_updated_timestamp ASC"], ["Model-B", "model-a", "model-c"]),
    ],
)
def test_registered_model_order(db, order_by, expected):
    assert registered(db, order_by=order_by) == expected


def test_registered_model_paging(db):
    assert registered(db, limit=1, offset=1) == ["model-a"]


# ---------------------------------------------------------------- model versions
def versions(db, filter_string=None, order_by=None, limit=100, offset=0):
    return query(db, build_model_versions_query(filter_string, order_by, limit, offset, db.dialect))


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        # default order: last_updated DESC, name ASC, version DESC; deleted and prompt versions hidden
        (None, [("Model-B", 1), ("model-a", 2), ("model-a", 1)]),
        ("name = 'model-a'", [("model-a", 2), ("model-a", 1)]),
        ("version_number >= 2", [("model-a", 2)]),
        ("version_number = '1'", [("Model-B", 1), ("model-a", 1)]),
        ("version_number != 1", [("model-a", 2)]),
        ("run_id IN ('r1', 'r3')", [("model-a", 1)]),
        ("run_id != 'r1'", [("model-a", 2)]),
        ("run_id LIKE 'r%'", [("model-a", 2), ("model-a", 1)]),
        ("source_path LIKE 's3://%'", [("model-a", 2), ("model-a", 1)]),
        ("source_path ILIKE '/LOCAL/%'", [("Model-B", 1)]),
        ("tags.stage = 'Prod'", [("model-a", 2)]),
        ("tags.stage ILIKE 'prod'", [("model-a", 2)]),
        ("name IN ('prompt-1')", []),
        (f"tags.`{PROMPT}` = 'true'", [("prompt-1", 1)]),
        (
            f"tags.`{PROMPT}` != 'true' AND name ILIKE 'model-%'",
            [("Model-B", 1), ("model-a", 2), ("model-a", 1)],
        ),
    ],
)
def test_model_version_filters(db, filter_string, expected):
    assert versions(db, filter_string) == expected


@pytest.mark.parametrize(
    "order_by, expected",
    [
        (["version_number ASC"], [("Model-B", 1), ("model-a", 1), ("model-a", 2)]),
        (["name DESC"], [("model-a", 2), ("model-a", 1), ("Model-B", 1)]),
        (["creation_timestamp DESC"], [("model-a", 2), ("Model-B", 1), ("model-a", 1)]),
        (["last_updated_timestamp"], [("model-a", 1), ("Model-B", 1), ("model-a", 2)]),
    ],
)
def test_model_version_order(db, order_by, expected):
    assert versions(db, order_by=order_by) == expected


# ---------------------------------------------------------------- logged models
def logged(db, filter_string=None, datasets=None, order_by=None, exps=("1",), limit=100, offset=0):
    built = build_logged_models_query(
        list(exps), filter_string, datasets, order_by, limit, offset, db.dialect
    )
    return query(db, built)


@pytest.mark.parametrize(
    "filter_string, datasets, expected",
    [
        (None, None, ["m2", "m1", "m5"]),  # creation_timestamp DESC; m3 deleted, m4 other experiment
        ("metrics.acc > 0.8", None, ["m1"]),  # latest by step: m1 0.9, m2 0.7 (not 0.95)
        ("metrics.acc < 0.8", None, ["m2"]),
        ("metrics.acc != 0.9", None, ["m2", "m5"]),  # NaN matches only !=
        ("metrics.acc > 0.6", [{"dataset_name": "test"}], ["m2"]),
        ("metrics.acc < 0.6", [{"dataset_name": "test", "dataset_digest": "d2"}], ["m1"]),
        ("metrics.acc < 0.6", [{"dataset_name": "test", "dataset_digest": "zz"}], []),
        ("metrics.acc >= 0.5", [{"dataset_name": "train"}, {"dataset_name": "test"}], ["m2", "m1"]),
        (None, [{"dataset_name": "test"}], ["m2", "m1"]),
        (None, [{"dataset_name": "train"}], ["m1"]),
        ("status = 2", None, ["m1"]),
        ("status = 'LOGGED_MODEL_READY'", None, ["m1"]),
        ("status != 'READY'", None, ["m2", "m5"]),
        ("status IN ('LOGGED_MODEL_PENDING', 'LOGGED_MODEL_UPLOAD_FAILED')", None, ["m2", "m5"]),
        ("name LIKE 'model%'", None, ["m2", "m1"]),
        ("name ILIKE 'model%'", None, ["m2", "m1", "m5"]),
        ("attributes.name IN ('model_1', 'Model_5')", None, ["m1", "m5"]),
        ("model_id NOT IN ('m1')", None, ["m2", "m5"]),
        ("model_type = 'sklearn'", None, ["m1"]),
        ("model_type != 'sklearn'", None, ["m5"]),  # NULL model_type never matches
        ("source_run_id IN ('r1', 'r2')", None, ["m1", "m5"]),
        ("params.p = 'a'", None, ["m1"]),
        ("params.p IN ('a', 'b')", None, ["m2", "m1"]),
        ("params.p NOT IN ('a')", None, ["m2"]),
        ("tags.t = 'x'", None, ["m1"]),
        ("creation_time > 60", None, ["m2", "m1"]),
        ("last_updated_timestamp <= 101", None, ["m1", "m5"]),
    ],
)
def test_logged_model_filters(db, filter_string, datasets, expected):
    assert logged(db, filter_string, datasets) == expected


@pytest.mark.parametrize(
    "order_by, expected",
    [
        ([{"field_name": "metrics.acc", "ascending": False}], ["m1", "m2", "m5"]),
        ([{"field_name": "metrics.acc"}], ["m2", "m1", "m5"]),  # NaN after numbers
        ([{"field_name": "metrics.acc", "dataset_name": "test"}], ["m1", "m2", "m5"]),  # m5: no test metric
        ([{"field_name": "metrics.acc", "ascending": False, "dataset_name": "test"}], ["m2", "m1", "m5"]),
        ([{"field_name": "metrics.missing", "ascending": False}], ["m2", "m1", "m5"]),
        ([{"field_name": "name"}], ["m5", "m1", "m2"]),
        ([{"field_name": "creation_time", "ascending": True}], ["m5", "m1", "m2"]),
        ([{"field_name": "model_type", "ascending": False}], ["m5", "m1", "m2"]),  # NULL last
        ([{"field_name": "status"}, {"field_name": "model_id", "ascending": False}], ["m2", "m1", "m5"]),
    ],
)
def test_logged_model_order(db, order_by, expected):
    assert logged(db, order_by=order_by) == expected


def test_logged_model_scope_and_errors(db):
    assert logged(db, exps=("1", "2"), limit=2) == ["m2", "m4"]
    assert logged(db, exps=("1", "2"), limit=2, offset=2) == ["m1", "m5"]
    with pytest.raises(InvalidParameterValue):
        logged(db, exps=())
    with pytest.raises(InvalidParameterValue, match="dataset_name"):
        logged(db, datasets=[{"dataset_digest": "x"}])
    with pytest.raises(InvalidParameterValue):
        logged(db, "metric.acc > 1")
