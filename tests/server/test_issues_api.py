"""The issues API (/api/3.0/mlflow/issues), in process: create, get, update, search, errors."""

from __future__ import annotations

API3 = "/api/3.0/mlflow"


def _exp(client, name: str) -> str:
    r = client.post("/api/2.0/mlflow/experiments/create", json={"name": name})
    assert r.status_code == 200, r.text
    return r.json()["experiment_id"]


def _create(client, **body):
    r = client.post(f"{API3}/issues", json=body)
    assert r.status_code == 200, r.text
    return r.json()["issue"]


def test_issue_lifecycle(client):
    exp = _exp(client, "issues")
    issue = _create(
        client,
        experiment_id=exp,
        name="slow",
        description="calls are slow",
        severity="high",
        root_causes=["db", "network"],
        created_by="me",
    )
    assert issue["status"] == "pending" and issue["root_causes"] == ["db", "network"]
    assert issue["issue_id"] and issue["created_timestamp"] == issue["last_updated_timestamp"]
    got = client.get(f"{API3}/issues/{issue['issue_id']}").json()["issue"]
    assert got == issue
    updated = client.patch(
        f"{API3}/issues/{issue['issue_id']}", json={"status": "resolved", "name": "fixed"}
    ).json()["issue"]
    assert updated["status"] == "resolved" and updated["name"] == "fixed" and updated["severity"] == "high"


def test_issue_errors_are_typed(client):
    exp = _exp(client, "issues-bad")
    missing = client.post(f"{API3}/issues", json={"experiment_id": "999999", "name": "x"})
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    bad = client.post(f"{API3}/issues", json={"experiment_id": exp, "name": "x", "status": "open"})
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert client.get(f"{API3}/issues/nope").status_code == 404
    bad_filter = client.post(f"{API3}/issues/search", json={"filter_string": "created_by LIKE 'x'"})
    assert bad_filter.status_code == 400
    # nothing was stored by the refused requests
    assert client.post(f"{API3}/issues/search", json={}).json()["issues"] == []


def test_issue_search_filters_and_pages(client):
    a, b = _exp(client, "ia"), _exp(client, "ib")
    for i in range(12):
        _create(client, experiment_id=a, name=f"a{i}", status="resolved" if i % 3 == 0 else "pending")
    _create(client, experiment_id=b, name="b0")
    first = client.post(f"{API3}/issues/search", json={"experiment_id": a, "max_results": 10}).json()
    assert len(first["issues"]) == 10 and first["next_page_token"]
    rest = client.post(
        f"{API3}/issues/search",
        json={"experiment_id": a, "max_results": 10, "page_token": first["next_page_token"]},
    ).json()
    assert len(rest["issues"]) == 2 and rest["next_page_token"] == ""
    names = [i["name"] for i in first["issues"] + rest["issues"]]
    assert sorted(names) == sorted(f"a{i}" for i in range(12))
    resolved = client.post(
        f"{API3}/issues/search", json={"experiment_id": a, "filter_string": "status = 'resolved'"}
    ).json()["issues"]
    assert sorted(i["name"] for i in resolved) == ["a0", "a3", "a6", "a9"]
    assert [
        i["name"] for i in client.post(f"{API3}/issues/search", json={"experiment_id": b}).json()["issues"]
    ] == ["b0"]
