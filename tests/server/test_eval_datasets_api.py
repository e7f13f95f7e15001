"""Evaluation datasets over REST (/api/3.0/mlflow/datasets), in process: lifecycle, tags,
experiments, records upserted by inputs, search, and typed errors."""

from __future__ import annotations

import json

from labkeep.genai.datasets import _RestDatasets

API3 = "/api/3.0/mlflow/datasets"


def _exp(client, name: str) -> str:
    r = client.post("/api/2.0/mlflow/experiments/create", json={"name": name})
    assert r.status_code == 200, r.text
    return r.json()["experiment_id"]


def _create(client, name, exps, tags=None):
    body = {"name": name, "experiment_ids": exps, "tags": json.dumps(tags or {})}
    r = client.post(f"{API3}/create", json=body)
    assert r.status_code == 200, r.text
    return r.json()["dataset"]


def test_dataset_lifecycle_tags_and_experiments(client):
    e1, e2 = _exp(client, "d1"), _exp(client, "d2")
    ds = _create(client, "qa", [e1], {"env": "dev", "keep": "1"})
    did = ds["dataset_id"]
    assert ds["experiment_ids"] == [e1] and json.loads(ds["tags"]) == {"env": "dev", "keep": "1"}
    assert client.patch(f"{API3}/{did}/tags", json={"tags": json.dumps({"env": "prod"})}).status_code == 200
    assert client.delete(f"{API3}/{did}/tags/keep").status_code == 200
    got = client.get(f"{API3}/{did}").json()["dataset"]
    assert json.loads(got["tags"]) == {"env": "prod"}
    added = client.post(f"{API3}/{did}/add-experiments", json={"experiment_ids": [e2, e1]}).json()["dataset"]
    assert sorted(added["experiment_ids"]) == sorted([e1, e2])
    removed = client.post(f"{API3}/{did}/remove-experiments", json={"experiment_ids": [e1]}).json()["dataset"]
    assert removed["experiment_ids"] == [e2]
    assert client.get(f"{API3}/{did}/experiment-ids").json()["experiment_ids"] == [e2]
    assert client.delete(f"{API3}/{did}").status_code == 200
    gone = client.get(f"{API3}/{did}")
    assert gone.status_code == 404 and "not found" in gone.json()["message"]


def test_records_upsert_by_inputs_and_search(client):
    e1 = _exp(client, "r1")
    did = _create(client, "recs", [e1], {"team": "ml"})["dataset_id"]
    _create(client, "other", [], {"team": "data"})
    recs = [
        {"inputs": {"q": "a"}, "expectations": {"answer": "1"}, "tags": {"level": "easy"}},
        {"inputs": {"q": "b"}, "expectations": {"answer": "2"}},
    ]
    r = client.post(f"{API3}/{did}/records", json={"records": json.dumps(recs)})
    assert r.json() == {"inserted_count": 2, "updated_count": 0}
    again = [
        {"inputs": {"q": "a"}, "expectations": {"answer": "one"}, "tags": {"new": "t"}},
        {"inputs": {"q": "c"}},
    ]
    r = client.post(f"{API3}/{did}/records", json={"records": json.dumps(again)})
    assert r.json() == {"inserted_count": 1, "updated_count": 1}
    stored = json.loads(client.get(f"{API3}/{did}/records", params={"max_results": 10}).json()["records"])
    by_q = {rec["inputs"]["q"]: rec for rec in stored}
    assert sorted(by_q) == ["a", "b", "c"]
    assert by_q["a"]["expectations"] == {"answer": "one"} and by_q["a"]["tags"] == {
        "level": "easy",
        "new": "t",
    }
    rid = by_q["b"]["dataset_record_id"]
    deleted = client.request("DELETE", f"{API3}/{did}/records", json={"dataset_record_ids": [rid]})
    assert deleted.json() == {"deleted_count": 1}
    ml = client.post(f"{API3}/search", json={"filter_string": "tags.team = 'ml'"}).json()["datasets"]
    assert [d["name"] for d in ml] == ["recs"]
    ordered = client.post(f"{API3}/search", json={"order_by": ["name ASC"]}).json()["datasets"]
    assert [d["name"] for d in ordered] == ["other", "recs"]
    in_exp = client.post(f"{API3}/search", json={"experiment_ids": [e1]}).json()["datasets"]
    assert [d["name"] for d in in_exp] == ["recs"]


def test_dataset_errors_are_typed(client):
    assert client.post(f"{API3}/d-missing/records", json={"records": "[]"}).status_code == 404
    bad = client.post(f"{API3}/create", json={"name": "x", "experiment_ids": ["999999"]})
    assert bad.status_code == 404 and bad.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    e1 = _exp(client, "bad")
    did = _create(client, "d", [e1])["dataset_id"]
    not_json = client.post(f"{API3}/{did}/records", json={"records": "{nope"})
    assert not_json.status_code == 400 and not_json.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    bad_filter = client.post(f"{API3}/search", json={"filter_string": "digest > 3"})
    assert bad_filter.status_code == 400
    assert client.post(f"{API3}/search", json={}).json()["datasets"][0]["dataset_id"] == did


def test_rest_adapter_against_the_server_app(client):
    rest = _RestDatasets("http://localhost", client=client)
    made = rest.create_dataset("r", {"a": "1"}, ["0"])
    assert rest.upsert_records(made["dataset_id"], [{"inputs": {"x": 1}}]) == {"inserted": 1, "updated": 0}
    assert [r["inputs"] for r in rest.get_records(made["dataset_id"])] == [{"x": 1}]
    found, token = rest.search_datasets(["0"], "tags.a = '1'", 10, [], None)
    assert [d["name"] for d in found] == ["r"] and token is None
