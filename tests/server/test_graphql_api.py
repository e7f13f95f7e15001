"""``/graphql`` in process: the queries mlflow's UI sends, NaN metrics, size limits and bad input."""

from __future__ import annotations

API = "/api/2.0/mlflow"


def _gql(client, query: str, **extra):
    r = client.post("/graphql", json={"query": query, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def _run(client, name: str = "gql") -> tuple[str, str]:
    exp = client.post(f"{API}/experiments/create", json={"name": name}).json()["experiment_id"]
    run = client.post(f"{API}/runs/create", json={"experiment_id": exp, "start_time": 5}).json()["run"]
    return exp, run["info"]["run_id"]


def test_get_run_with_experiment_metrics_and_model_versions(client):
    exp, run_id = _run(client)
    for step, value in enumerate([1.5, "NaN"]):
        r = client.post(
            f"{API}/runs/log-metric",
            json={"run_id": run_id, "key": f"m{step}", "value": value, "timestamp": 7, "step": step},
        )
        assert r.status_code == 200, r.text
    client.post(f"{API}/registered-models/create", json={"name": "gqlmodel"})
    r = client.post(
        f"{API}/model-versions/create",
        json={"name": "gqlmodel", "source": f"runs:/{run_id}/model", "run_id": run_id},
    )
    assert r.status_code == 200, r.text
    out = _gql(
        client,
        (
            'query q @component(name: "x") { mlflowGetRun(input: {runId: "RUN"}) { run {'
            " info { runId status startTime endTime } experiment { name experimentId }"
            " data { metrics { key value timestamp step } } modelVersions { name version } } } }"
        ).replace("RUN", run_id),
        operationName="q",
    )
    assert out["errors"] is None
    run = out["data"]["mlflowGetRun"]["run"]
    # a field the REST payload leaves out answers its protobuf default, as in mlflow
    assert run["info"] == {"runId": run_id, "status": "RUNNING", "startTime": "5", "endTime": "0"}
    assert run["experiment"] == {"name": "gql", "experimentId": exp}
    metrics = {m["key"]: m for m in run["data"]["metrics"]}
    assert metrics["m0"] == {"key": "m0", "value": 1.5, "timestamp": "7", "step": "0"}
    assert metrics["m1"]["value"] is None  # GraphQL's Float has no NaN
    assert run["modelVersions"] == [{"name": "gqlmodel", "version": "1"}]


def test_search_runs_history_and_artifacts(client):
    exp, run_id = _run(client, "gql-search")
    for i in range(3):
        client.post(
            f"{API}/runs/log-metric",
            json={"run_id": run_id, "key": "loss", "value": i, "timestamp": 1, "step": i},
        )
    out = _gql(
        client,
        'mutation { mlflowSearchRuns(input: {experimentIds: ["EXP"], runViewType: ACTIVE_ONLY})'
        " { runs { info { runId } } } }".replace("EXP", exp),
    )
    assert out["data"]["mlflowSearchRuns"]["runs"] == [{"info": {"runId": run_id}}]
    out = _gql(
        client,
        'query { h: mlflowGetMetricHistoryBulkInterval(input: {runIds: ["RUN"], metricKey: "loss"})'
        " { metrics { key value step runId } } }".replace("RUN", run_id),
    )
    assert [m["value"] for m in out["data"]["h"]["metrics"]] == [0, 1, 2]
    assert {m["runId"] for m in out["data"]["h"]["metrics"]} == {run_id}
    out = _gql(
        client,
        'query { mlflowListArtifacts(input: {runId: "RUN"}) { files { path } } }'.replace("RUN", run_id),
    )
    assert out["errors"] is None and out["data"]["mlflowListArtifacts"]["files"] == []


def test_rest_errors_surface_as_graphql_errors(client):
    out = _gql(
        client, 'query { mlflowGetExperiment(input: {experimentId: "424242"}) { experiment { name } } }'
    )
    assert out["data"]["mlflowGetExperiment"] is None
    assert "424242" in out["errors"][0]
    # a syntax error and an unknown field are errors in the body, not a 500
    assert _gql(client, "query {")["errors"]
    assert "nope" in _gql(client, "query { nope }")["errors"][0]


def test_size_limits(client):
    many_roots = "query {" + " ".join(f'k{i}: test(inputString: "a") {{ output }}' for i in range(12)) + "}"
    assert "at most 10 root fields, got 12" in _gql(client, many_roots)["errors"][0]
    ten = "query {" + " ".join(f'k{i}: test(inputString: "a") {{ output }}' for i in range(10)) + "}"
    assert _gql(client, ten)["data"]["k9"] == {"output": "a"}
    aliases = "query { test { " + " ".join(f"a{i}: output" for i in range(11)) + " } }"
    assert "at most 10 aliases, got 11" in _gql(client, aliases)["errors"][0]
    inner = "name"
    for _ in range(12):
        inner = f"name {{ {inner} }}"
    deep = "query { test { " + inner + " } }"
    assert _gql(client, deep)["errors"] == ["Query exceeds maximum depth of 10"]
    wide = "query { test { " + " ".join(f"f{i} {{ x }}" for i in range(1002)) + " } }"
    assert _gql(client, wide)["errors"] == ["Query exceeds maximum total selections of 1000"]
    # fragments count too (a fragment cycle is refused by validation, not looped over)
    frag = (
        "query { ...F } fragment F on Query { "
        + " ".join(f"x{i}: test {{ output }}" for i in range(11))
        + " }"
    )
    assert "root fields" in _gql(client, frag)["errors"][0]
    assert _gql(client, "query { ...A } fragment A on Query { ...A }")["errors"]


def test_bad_requests_are_typed(client):
    r = client.post("/graphql", json={})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = client.post("/graphql", json={"query": "query { test { output } }", "variables": [1]})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = client.get(
        "/graphql",
        params={
            "query": "query ($s: String) { test(inputString: $s) { output } }",
            "variables": '{"s": "hi"}',
        },
    )
    assert r.status_code == 200 and r.json()["data"]["test"] == {"output": "hi"}
