"""The issue's probe inputs: each is a 400 with a message, never a 500, and nothing stored changes."""

from __future__ import annotations

import json

import pytest

API = "/api/2.0/mlflow"
H = {"content-type": "application/json"}


@pytest.fixture
def run(client):
    exp = client.post(f"{API}/experiments/create", json={"name": "hostile"}).json()["experiment_id"]
    run_id = client.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    return exp, run_id


def _metric(run_id: str, **kw) -> bytes:
    return json.dumps({"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0, **kw}).encode()


BODIES = {
    "deeply nested": lambda r: ('{"a":' * 100_000 + "1" + "}" * 100_000).encode(),
    "timestamp beyond int64": lambda r: _metric(r, timestamp=2**70),
    "step beyond int64": lambda r: _metric(r, step=-(2**64)),
    "5,000-digit value": lambda r: _metric(r).replace(b'"value": 1.0', b'"value": ' + b"9" * 5000),
    "NUL in key": lambda r: _metric(r, key="m\u0000x"),
}


@pytest.mark.parametrize("name", list(BODIES))
def test_hostile_bodies_are_400(client, run, name):
    r = client.post(f"{API}/runs/log-metric", content=BODIES[name](run[1]), headers=H)
    assert r.status_code == 400, r.text[:200]
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE" and r.json()["message"]
    hist = client.get(f"{API}/metrics/get-history", params={"run_id": run[1], "metric_key": "m"}).json()
    assert hist.get("metrics", []) == []


FILTERS = [
    "metrics.é > 1",
    "attributes.ñame = 'x'",
    " and ".join(f"params.p{i} = '1'" for i in range(2000)),
    "params.a = 'x\u0000'",
    "metrics.m > " + "9" * 5000,
    "attributes.start_time > 99999999999999999999999",
]


@pytest.mark.parametrize(
    "flt",
    FILTERS,
    ids=["non-ascii-metric", "non-ascii-attr", "2000-clauses", "nul", "5000-digits", "int-overflow"],
)
def test_hostile_filters_are_400(client, run, flt):
    r = client.post(f"{API}/runs/search", json={"experiment_ids": [run[0]], "filter": flt})
    assert r.status_code in (200, 400), r.text[:200]
    if flt.startswith(("metrics.é", "attributes.ñ", "params.p0", "params.a")) or "9" * 5000 in flt:
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_nul_in_names_and_queries(client):
    assert client.post(f"{API}/experiments/create", json={"name": "x\u0000y"}).status_code == 400
    assert (
        client.get(f"{API}/experiments/get-by-name", params={"experiment_name": "a\x00"}).status_code == 400
    )
    assert (
        client.get(f"{API}/registered-models/search", params={"filter": "name = 'a\x00'"}).status_code == 400
    )
