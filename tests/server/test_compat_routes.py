"""Issue 12's REST additions, in process: mlflow's parameter-error wording, metric history bulk
and bulk-interval semantics, search-datasets, traces link-to-run, assessment overrides, and a
named 404 for the AI gateway."""

from __future__ import annotations

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
API3 = "/api/3.0/mlflow"


def _run_id(client) -> str:
    r = client.post(f"{API}/runs/create", json={"experiment_id": "0"})
    assert r.status_code == 200, r.text
    return r.json()["run"]["info"]["run_id"]


def _message(resp, status: int = 400) -> str:
    assert resp.status_code == status, resp.text
    assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    return resp.json()["message"]


def test_parameter_errors_use_mlflows_wording(client):
    run_id = _run_id(client)
    point = {"run_id": run_id, "key": "m", "value": 1, "timestamp": 1, "step": 0}
    msg = _message(client.post(f"{API}/runs/log-metric", json={**point, "run_id": 31}))
    assert msg.startswith("Invalid value 31 for parameter 'run_id' supplied")
    msg = _message(client.post(f"{API}/runs/log-metric", json={**point, "step": "foo"}))
    assert msg.startswith("Invalid value \"foo\" for parameter 'step' supplied")
    msg = _message(client.post(f"{API}/runs/set-tag", json={"run_id": run_id, "value": "v"}))
    assert msg.startswith("Missing value for required parameter 'key'.")
    batch = {"run_id": run_id, "metrics": [{"key": "mae", "value": 2.5}]}
    msg = _message(client.post(f"{API}/runs/log-batch", json=batch))
    assert "Missing value for required parameter 'metrics[0].timestamp'" in msg
    msg = _message(client.post(f"{API}/experiments/create", json={"name": "x", "tags": "5"}))
    assert msg.startswith("Invalid value \"5\" for parameter 'tags' supplied")
    msg = _message(client.get(f"{API}/artifacts/list", params={"run_id": run_id, "path": "../x"}))
    assert msg == "Invalid path"
    # checked before the version is looked up; repeated slashes name the same route
    legacy = client.get(
        "http://localhost//model-versions/get-artifact", params={"name": "m", "version": 1, "path": "../x"}
    )
    assert _message(legacy) == "Invalid path"
    # nothing was stored by the refused requests
    data = client.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"]
    assert "metrics" not in data and [t["key"] for t in data["tags"]] == ["mlflow.runName"]


def test_history_bulk_groups_by_run_in_time_order(client):
    runs = sorted(_run_id(client) for _ in range(2))
    for run_id in reversed(runs):
        for ts, step, value in [(2, 3, 12.0), (1, 3, 11.0), (1, 2, 10.0)]:
            body = {"run_id": run_id, "key": "a", "value": value, "timestamp": ts, "step": step}
            assert client.post(f"{API}/runs/log-metric", json=body).status_code == 200
    got = client.get(f"{AJAX}/metrics/get-history-bulk", params={"run_id": runs[::-1], "metric_key": "a"})
    pairs = [(m["run_id"], m["timestamp"], m["step"]) for m in got.json()["metrics"]]
    assert pairs == [(r, ts, s) for r in runs for ts, s in [(1, 2), (1, 3), (2, 3)]]
    limited = client.get(
        f"{AJAX}/metrics/get-history-bulk", params={"run_id": runs, "metric_key": "a", "max_results": 2}
    )
    assert len(limited.json()["metrics"]) == 2
    msg = _message(client.get(f"{AJAX}/metrics/get-history-bulk", params={"metric_key": "a"}))
    assert "must specify at least one run_id" in msg


def test_history_bulk_interval_samples_steps(client):
    run_id = _run_id(client)
    metrics = [{"key": "m", "value": 1.0, "timestamp": 1, "step": i} for i in range(10)]
    assert (
        client.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics}).status_code == 200
    )
    url = f"{AJAX}/metrics/get-history-bulk-interval"
    got = client.get(url, params={"run_ids": [run_id], "metric_key": "m", "max_results": 5})
    assert [m["step"] for m in got.json()["metrics"]] == [0, 2, 4, 6, 8, 9]
    bad = client.get(url, params={"run_ids": [run_id], "metric_key": "m", "start_step": 1})
    assert "both must be specified" in _message(bad)


def test_search_datasets_and_gateway_404(client):
    run_id = _run_id(client)
    ds = {"name": "d1", "digest": "x1", "source_type": "local", "source": "{}"}
    tags = [{"key": "mlflow.data.context", "value": "training"}]
    body = {"run_id": run_id, "datasets": [{"dataset": ds, "tags": tags}]}
    assert client.post(f"{API}/runs/log-inputs", json=body).status_code == 200
    got = client.post(f"{AJAX}/experiments/search-datasets", json={"experiment_ids": ["0"]})
    assert got.json()["dataset_summaries"] == [
        {"experiment_id": "0", "name": "d1", "digest": "x1", "context": "training"}
    ]
    assert "at least one experiment_id" in _message(
        client.post(f"{AJAX}/experiments/search-datasets", json={})
    )
    gw = client.get("/ajax-api/3.0/mlflow/gateway/secrets/config")
    assert gw.status_code == 404 and gw.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert "AI gateway" in gw.json()["message"]


def _trace(client, trace_id: str) -> None:
    info = {
        "trace_id": trace_id,
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "0"}},
        "request_time": "2026-01-01T00:00:00Z",
        "state": "OK",
    }
    assert client.post(f"{API3}/traces", json={"trace": {"trace_info": info}}).status_code == 200


def test_link_traces_to_run_and_assessment_overrides(client):
    run_id = _run_id(client)
    _trace(client, "tr-1")
    _trace(client, "tr-2")
    assert (
        client.post(f"{API}/traces/link-to-run", json={"trace_ids": ["tr-1"], "run_id": run_id}).status_code
        == 200
    )
    # a trace still on its way (exported asynchronously) may be linked before it arrives
    early = client.post(f"{API}/traces/link-to-run", json={"trace_ids": ["tr-late"], "run_id": run_id})
    assert early.status_code == 200
    _trace(client, "tr-late")
    found = client.post(
        f"{API3}/traces/search",
        json={
            "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "0"}}],
            "filter": f"attribute.run_id = '{run_id}'",
        },  # fmt: skip
    )
    assert sorted(t["trace_id"] for t in found.json()["traces"]) == ["tr-1", "tr-late"]
    too_many = client.post(
        f"{API}/traces/link-to-run", json={"trace_ids": [f"t{i}" for i in range(101)], "run_id": run_id}
    )
    assert too_many.status_code == 400

    def create(extra):
        body = {"assessment": {"assessment_name": "ok", "trace_id": "tr-2", "feedback": {"value": True},
                               "source": {"source_type": "HUMAN", "source_id": "me"}, **extra}}  # fmt: skip
        r = client.post(f"{API3}/traces/tr-2/assessments", json=body)
        assert r.status_code == 200, r.text
        return r.json()["assessment"]

    def get(aid):
        return client.get(f"{API3}/traces/tr-2/assessments/{aid}").json()["assessment"]

    first = create({})
    assert first["valid"] is True
    override = create({"overrides": first["assessment_id"]})
    assert get(first["assessment_id"])["valid"] is False and override["overrides"] == first["assessment_id"]
    assert client.delete(f"{API3}/traces/tr-2/assessments/{override['assessment_id']}").status_code == 200
    assert get(first["assessment_id"])["valid"] is True
