"""Scorer, trace-metric, legacy v2 trace and prompt-engineering routes, in process on SQLite."""

from __future__ import annotations

import json

import pytest

API = "/api/2.0/mlflow"
API3 = "/api/3.0/mlflow"


def _exp(client, name: str) -> str:
    r = client.post(f"{API}/experiments/create", json={"name": name})
    assert r.status_code == 200, r.text
    return r.json()["experiment_id"]


def _error(resp, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    assert resp.json()["error_code"] == code
    return resp.json()["message"]


def test_scorer_routes(client):
    exp = _exp(client, "scorers")
    r = client.post(
        f"{API3}/scorers/register", json={"experiment_id": exp, "name": "s", "serialized_scorer": "{}"}
    )
    assert r.status_code == 200, r.text
    reg = r.json()
    assert reg["version"] == 1 and reg["name"] == "s" and reg["experiment_id"] == exp and reg["scorer_id"]
    client.post(
        f"{API3}/scorers/register", json={"experiment_id": exp, "name": "s", "serialized_scorer": '{"v":2}'}
    )
    listed = client.get(f"{API3}/scorers/list", params={"experiment_id": exp}).json()["scorers"]
    assert [(s["scorer_name"], s["scorer_version"], s["experiment_id"]) for s in listed] == [
        ("s", 2, int(exp))
    ]
    versions = client.get(f"{API3}/scorers/versions", params={"experiment_id": exp, "name": "s"}).json()[
        "scorers"
    ]
    assert [v["scorer_version"] for v in versions] == [1, 2]
    one = client.get(f"{API3}/scorers/get", params={"experiment_id": exp, "name": "s", "version": 1}).json()
    assert one["scorer"]["serialized_scorer"] == "{}"
    assert (
        client.request("DELETE", f"{API3}/scorers/delete", json={"experiment_id": exp, "name": "s"}).json()
        == {}
    )
    assert client.get(f"{API3}/scorers/list", params={"experiment_id": exp}).json() == {"scorers": []}
    _error(
        client.get(f"{API3}/scorers/get", params={"experiment_id": exp, "name": "s"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    _error(
        client.post(f"{API3}/scorers/register", json={"experiment_id": exp, "name": "s"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    _error(
        client.post(
            f"{API3}/scorers/register", json={"experiment_id": exp, "name": 3, "serialized_scorer": "{}"}
        ),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    _error(client.get(f"{API3}/scorers/list"), 400, "INVALID_PARAMETER_VALUE")
    _error(
        client.get(f"{API3}/scorers/get", params={"experiment_id": exp, "name": "s", "version": "x"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )


def _v2_start(client, exp: str, ts: int, **extra):
    r = client.post(f"{API}/traces", json={"experiment_id": exp, "timestamp_ms": ts, **extra})
    assert r.status_code == 200, r.text
    return r.json()["trace_info"]


def test_legacy_v2_trace_start_end_and_metrics(client):
    exp = _exp(client, "v2")
    info = _v2_start(
        client, exp, 1000, request_metadata=[{"key": "m1", "value": "a"}], tags=[{"key": "t1", "value": "x"}]
    )
    assert info["status"] == "IN_PROGRESS" and info["execution_time_ms"] == 0 and info["timestamp_ms"] == 1000
    rid = info["request_id"]
    r = client.patch(
        f"{API}/traces/{rid}",
        json={
            "timestamp_ms": 3500,
            "status": "OK",
            "request_metadata": [{"key": "m2", "value": "b"}],
            "tags": [],
        },
    )
    assert r.status_code == 200, r.text
    ended = r.json()["trace_info"]
    assert ended["status"] == "OK" and ended["execution_time_ms"] == 2500
    meta = {m["key"]: m["value"] for m in ended["request_metadata"]}
    assert meta["m1"] == "a" and meta["m2"] == "b"
    assert {"key": "t1", "value": "x"} in ended["tags"]
    assert client.get(f"{API}/traces/{rid}/info").json()["trace_info"] == ended
    # the same trace through the v3 read
    assert client.get(f"{API3}/traces/{rid}").json()["trace"]["trace_info"]["state"] == "OK"
    failed = _v2_start(client, exp, 2000)["request_id"]
    client.patch(f"{API}/traces/{failed}", json={"timestamp_ms": 2100, "status": "ERROR"})
    body = {
        "experiment_ids": [exp],
        "view_type": "TRACES",
        "metric_name": "trace_count",
        "aggregations": [{"aggregation_type": "COUNT"}],
        "dimensions": ["trace_status"],
    }
    r = client.post(f"{API3}/traces/metrics", json=body)
    assert r.status_code == 200, r.text
    assert [(p["dimensions"], p["values"]) for p in r.json()["data_points"]] == [
        ({"trace_status": "ERROR"}, {"COUNT": 1.0}),
        ({"trace_status": "OK"}, {"COUNT": 1.0}),
    ]
    page = client.post(f"{API3}/traces/metrics", json={**body, "max_results": 1}).json()
    assert len(page["data_points"]) == 1 and page["next_page_token"]
    rest = client.post(
        f"{API3}/traces/metrics", json={**body, "max_results": 1, "page_token": page["next_page_token"]}
    )
    assert (
        rest.json()["data_points"][0]["dimensions"] == {"trace_status": "OK"}
        and "next_page_token" not in rest.json()
    )
    # bad input: typed errors
    _error(
        client.patch(f"{API}/traces/{rid}", json={"timestamp_ms": 1, "status": "DONE"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    _error(
        client.patch(f"{API}/traces/nope", json={"timestamp_ms": 1, "status": "OK"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    _error(
        client.post(f"{API}/traces", json={"experiment_id": "424242", "timestamp_ms": 1}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    _error(client.post(f"{API}/traces", json={"experiment_id": exp}), 400, "INVALID_PARAMETER_VALUE")
    _error(
        client.post(f"{API3}/traces/metrics", json={**body, "metric_name": "color"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    _error(
        client.post(f"{API3}/traces/metrics", json={**body, "aggregations": "COUNT"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    _error(client.post(f"{API3}/traces/metrics", json={**body, "view_type": "SPANS"}), 501, "NOT_IMPLEMENTED")


def test_promptlab_run(client, server_settings):
    exp = _exp(client, "promptlab")
    url = f"{API}/runs/create-promptlab-run"
    body = {
        "experiment_id": exp,
        "run_name": "trial",
        "prompt_template": "Say {{ word }}",
        "prompt_parameters": [{"key": "word", "value": "hi"}],
        "model_route": "chat",
        "model_parameters": [{"key": "temperature", "value": 0.5}],
        "model_input": "Say hi",
        "model_output": "hi",
        "model_output_parameters": [{"key": "latency", "value": "12"}],
        "mlflow_version": "3.17.2",
        "user_id": "ann",
        "start_time": 456,
    }
    r = client.post(url, json=body)
    assert r.status_code == 200, r.text
    run = r.json()["run"]
    assert (
        run["info"]["status"] == "FINISHED"
        and run["info"]["start_time"] == 456
        and run["info"]["user_id"] == "ann"
    )
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params == {"temperature": "0.5", "model_route": "chat", "prompt_template": "Say {{ word }}"}
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags["mlflow.runSourceType"] == "PROMPT_ENGINEERING"
    listed = client.get(f"{API}/artifacts/list", params={"run_id": run["info"]["run_id"]}).json()
    assert [f["path"] for f in listed["files"]] == ["eval_results_table.json"]
    table = client.get(
        "/get-artifact", params={"run_id": run["info"]["run_id"], "path": "eval_results_table.json"}
    ).content
    assert json.loads(table) == {
        "columns": ["word", "prompt", "output", "latency"],
        "data": [["hi", "Say hi", "hi", "12"]],
    }
    for missing in (
        "experiment_id",
        "prompt_template",
        "prompt_parameters",
        "model_route",
        "model_input",
        "mlflow_version",
    ):
        partial = {k: v for k, v in body.items() if k != missing}
        msg = _error(client.post(url, json=partial), 400, "INVALID_PARAMETER_VALUE")
        assert msg == f"CreatePromptlabRun request must specify {missing}."
    _error(client.post(url, json={**body, "model_input": ["x"]}), 400, "INVALID_PARAMETER_VALUE")


def test_trace_filter_correlation_and_trace_artifact(client):
    import math

    from labkeep.genai.tracing.correlation import npmi_from_counts

    exp = _exp(client, "correlation")
    ids = []
    for i, (env, kind) in enumerate([("prod", "TOOL")] * 3 + [("dev", "TOOL"), ("dev", "LLM")]):
        rid = _v2_start(
            client, exp, 1000 + i, tags=[{"key": "env", "value": env}, {"key": "kind", "value": kind}]
        )["request_id"]
        client.patch(f"{API}/traces/{rid}", json={"timestamp_ms": 2000 + i, "status": "OK"})
        ids.append(rid)
    url = f"{API3}/traces/calculate-filter-correlation"
    body = {
        "experiment_ids": [exp],
        "filter_string1": "tags.env = 'prod'",
        "filter_string2": "tags.kind = 'TOOL'",
    }
    got = client.post(url, json=body).json()
    assert (got["total_count"], got["filter1_count"], got["filter2_count"], got["joint_count"]) == (
        5,
        3,
        4,
        3,
    )
    assert got["npmi"] == pytest.approx(npmi_from_counts(5, 3, 4, 3)[0]) and 0 < got["npmi"] < 1
    assert -1 < got["npmi_smoothed"] < 1
    # within a base filter: only the dev traces count
    dev = client.post(url, json={**body, "base_filter": "tags.env = 'dev'"}).json()
    assert (dev["total_count"], dev["filter1_count"], dev["joint_count"]) == (2, 0, 0) and "npmi" not in dev
    never = client.post(url, json={**body, "filter_string2": "tags.kind = 'LLM'"}).json()
    assert never["joint_count"] == 0 and never["npmi"] == -1.0
    _error(client.post(url, json={**body, "filter_string1": "bogus.x = 'y'"}), 400, "INVALID_PARAMETER_VALUE")
    _error(client.post(url, json={"experiment_ids": [exp]}), 400, "INVALID_PARAMETER_VALUE")
    # unit: perfect co-occurrence, independence, empty filters
    assert npmi_from_counts(4, 4, 4, 4)[0] == 1.0
    assert npmi_from_counts(4, 2, 2, 1)[0] == pytest.approx(0.0)
    assert all(math.isnan(v) for v in npmi_from_counts(4, 0, 2, 0))

    # get-trace-artifact: the spans document, as an attachment (a v2 trace without spans has none)
    r = client.get("/ajax-api/2.0/mlflow/get-trace-artifact", params={"request_id": ids[0]})
    assert r.status_code == 200 and r.headers["content-disposition"] == "attachment; filename=traces.json"
    assert r.json() == {"spans": []}
    _error(
        client.get("/ajax-api/2.0/mlflow/get-trace-artifact", params={"request_id": "nope"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    _error(client.get("/ajax-api/2.0/mlflow/get-trace-artifact"), 400, "INVALID_PARAMETER_VALUE")
