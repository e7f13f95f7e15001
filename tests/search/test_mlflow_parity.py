"""search_runs / search_experiments answer like mlflow 3.17.2 on the same data.

The same client calls build identical data in an mlflow SQLite store (the reference, run in
process through ``mlflow.MlflowClient``) and in a labkeep SQLite store (``labkeep.client.Client``);
then both answer the same filters and orderings, compared by run name.
"""

from __future__ import annotations

import math
import warnings

import pytest

pytestmark = pytest.mark.compat

# Distinct start times: ties fall back to run_id, which differs between the two stores.
RUNS = [
    # name, start, end, metrics [(key, value, step)], params, tags
    (
        "r-a",
        1000,
        2000,
        [("acc", 0.5, 0), ("acc", 0.8, 1), ("loss", math.nan, 0)],
        {"lr": "0.01"},
        {"team": "Vision"},
    ),
    ("r-b", 2000, None, [("acc", math.nan, 0)], {"lr": "0.1"}, {"team": "vision"}),
    ("r-c", 3000, 4000, [("acc", math.inf, 0), ("loss", 1.0, 0)], {"lr": "ABC", "opt": "adam"}, {}),
    ("r-d", 3500, None, [("acc", -math.inf, 0)], {}, {"note": "a%b"}),
    ("r-e", 500, 600, [], {"lr": "0.01"}, {"note": "A_B"}),
]
INPUTS = {"r-a": ("mnist", "abc", "training"), "r-c": ("cifar", "def", "eval")}

FILTERS = [
    "",
    "metrics.acc > 0.6",
    "metrics.acc = 0.8",
    "metrics.acc != 0.8",
    "metrics.acc < 0",
    "metrics.acc >= 0.8",
    "metrics.loss != 2",
    "metrics.loss = 1",
    "params.lr = '0.01'",
    "params.lr != '0.01'",
    "params.lr LIKE '0.%'",
    "params.lr LIKE 'abc'",
    "params.lr ILIKE 'abc'",
    "params.lr IS NULL",
    "params.opt IS NOT NULL",
    "tags.team = 'vision'",
    "tags.team ILIKE 'VISION'",
    "tags.note LIKE 'a%'",
    "tags.note ILIKE 'a_b'",
    "tags.team != 'x'",
    "tags.mlflow.runName = 'r-c'",
    "tags.`mlflow.runName` LIKE 'r-%'",
    "attributes.run_name = 'r-b'",
    "run_name LIKE 'r-_'",
    "`Run Name` ILIKE 'R-A'",
    "attributes.status = 'RUNNING'",
    "status != 'FINISHED'",
    "start_time >= 2000",
    "created < 1000",
    "end_time > 1000",
    "end_time != 600",
    "datasets.name = 'mnist'",
    "datasets.digest IN ('def', 'zzz')",
    "datasets.context = 'eval'",
    "datasets.name != 'mnist'",
    "metrics.acc > -1 and params.lr LIKE '%' AND tags.team IS NOT NULL",
]

ORDERS = [
    [],
    ["metrics.acc"],
    ["metrics.acc DESC"],
    ["metrics.loss ASC"],
    ["metrics.loss DESC"],
    ["params.lr"],
    ["params.lr DESC"],
    ["tags.team"],
    ["tags.team desc"],
    ["start_time ASC"],
    ["attributes.end_time"],
    ["end_time DESC"],
    ["run_name DESC"],
    ["status", "metrics.acc DESC"],
]


def _build(client, entities, exp_id):
    ids = {}
    for name, start, end, metrics, params, tags in RUNS:
        run = client.create_run(exp_id, start_time=start, run_name=name)
        rid = run.info.run_id
        ids[rid] = name
        for key, value, step in metrics:
            client.log_metric(rid, key, value, timestamp=start + step, step=step)
        for k, v in params.items():
            client.log_param(rid, k, v)
        for k, v in tags.items():
            client.set_tag(rid, k, v)
        if end is not None:
            client.set_terminated(rid, end_time=end)
        if name in INPUTS:
            ds_name, digest, context = INPUTS[name]
            dataset = entities.Dataset(name=ds_name, digest=digest, source_type="local", source="{}")
            tag = entities.InputTag(key="mlflow.data.context", value=context)
            client.log_inputs(rid, [entities.DatasetInput(dataset=dataset, tags=[tag])])
    return ids


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    warnings.filterwarnings("ignore")
    import mlflow
    import mlflow.entities

    import labkeep.entities
    from labkeep.client import Client

    base = tmp_path_factory.mktemp("parity")
    ref = mlflow.MlflowClient(tracking_uri=f"sqlite:///{base}/mlflow.db")
    ours = Client(tracking_uri=f"sqlite:///{base}/labkeep.db")
    out = []
    for client, entities in ((ref, mlflow.entities), (ours, labkeep.entities)):
        exp = client.create_experiment("parity")
        out.append((client, exp, _build(client, entities, exp)))
    return out


def _names(client, exp, ids, filter_string, order_by):
    return [ids[r.info.run_id] for r in client.search_runs([exp], filter_string, order_by=order_by)]


@pytest.mark.parametrize("filter_string", FILTERS)
def test_filters_match_mlflow(clients, filter_string):
    (ref, ref_exp, ref_ids), (ours, our_exp, our_ids) = clients
    expected = _names(ref, ref_exp, ref_ids, filter_string, None)
    assert _names(ours, our_exp, our_ids, filter_string, None) == expected


@pytest.mark.parametrize("order_by", ORDERS)
def test_orders_match_mlflow(clients, order_by):
    (ref, ref_exp, ref_ids), (ours, our_exp, our_ids) = clients
    expected = _names(ref, ref_exp, ref_ids, "", order_by)
    assert _names(ours, our_exp, our_ids, "", order_by) == expected


@pytest.mark.parametrize(
    "filter_string, order_by",
    [
        ("metrics.acc > 1 OR params.lr = 'x'", None),
        ("metrics.acc = '1'", None),
        ("params.lr = 1", None),
        ("status IN ('RUNNING')", None),
        ("metrics.acc IS NULL", None),
        ("foo.bar = 1", None),
        ("", ["timestamp"]),
        ("", ["metrics.acc descending"]),
    ],
)
def test_both_reject(clients, filter_string, order_by):
    (ref, ref_exp, _), (ours, our_exp, _) = clients
    for client, exp in ((ref, ref_exp), (ours, our_exp)):
        with pytest.raises(Exception) as info:
            client.search_runs([exp], filter_string, order_by=order_by)
        assert getattr(info.value, "error_code", None) == "INVALID_PARAMETER_VALUE"


EXPERIMENT_FILTERS = [
    "",
    "name LIKE 'exp-%'",
    "name ILIKE 'EXP-%'",
    "name != 'Other'",
    "tags.owner = 'me'",
    "tags.owner IS NULL",
    "tags.owner IS NOT NULL",
    "tag.owner LIKE 'y%'",
]
EXPERIMENT_ORDERS = [["name"], ["name DESC"], ["experiment_id"]]


@pytest.fixture(scope="module")
def experiment_clients(clients):
    out = []
    for client, _, _ in clients:
        for name, owner in (("exp-A", "me"), ("exp-b", None), ("Other", "you")):
            tags = {"owner": owner} if owner else None
            client.create_experiment(name, tags=tags)
        out.append(client)
    return out


def _experiment_names(client, filter_string, order_by):
    return [e.name for e in client.search_experiments(filter_string=filter_string, order_by=order_by)]


@pytest.mark.parametrize("filter_string", EXPERIMENT_FILTERS)
def test_experiment_filters_match_mlflow(experiment_clients, filter_string):
    ref, ours = experiment_clients
    expected = sorted(_experiment_names(ref, filter_string, None))
    assert sorted(_experiment_names(ours, filter_string, None)) == expected


@pytest.mark.parametrize("order_by", EXPERIMENT_ORDERS)
def test_experiment_orders_match_mlflow(experiment_clients, order_by):
    ref, ours = experiment_clients
    assert _experiment_names(ours, "", order_by) == _experiment_names(ref, "", order_by)
