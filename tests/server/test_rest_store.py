"""RestTrackingStore → ASGI app → SqlTrackingStore, in process, plus the HTTP client's policies."""

from __future__ import annotations

import time

import pytest

from labkeep.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LoggedModelOutput,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from labkeep.exceptions import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from labkeep.stores.rest.http import HostCreds, RestClient, RetryPolicy
from labkeep.stores.rest.tracking import make_store


def test_experiments_over_rest(rest_store):
    assert rest_store.get_experiment_by_name("missing") is None
    exp_id = rest_store.create_experiment("e", tags=[RunTag("a", "b")])
    exp = rest_store.get_experiment(exp_id)
    assert exp.name == "e" and exp.tags == {"a": "b"}
    with pytest.raises(ResourceAlreadyExists):
        rest_store.create_experiment("e")
    rest_store.rename_experiment(exp_id, "e2")
    rest_store.set_experiment_tag(exp_id, RunTag("c", "d"))
    rest_store.delete_experiment_tag(exp_id, "a")
    assert rest_store.get_experiment_by_name("e2").tags == {"c": "d"}
    rest_store.delete_experiment(exp_id)
    assert [e.name for e in rest_store.search_experiments(view_type=ViewType.DELETED_ONLY)] == ["e2"]
    rest_store.restore_experiment(exp_id)
    page = rest_store.search_experiments(max_results=1)
    assert len(page) == 1 and page.token
    rest_page = rest_store.search_experiments(max_results=1, page_token=page.token)
    assert len(rest_page) == 1 and rest_page[0].experiment_id != page[0].experiment_id


def test_runs_over_rest(rest_store):
    exp_id = rest_store.create_experiment("e")
    run = rest_store.create_run(exp_id, "me", 1000, [RunTag("t", "1")], "my-run")
    run_id = run.info.run_id
    assert run.info.run_name == "my-run" and run.info.user_id == "me"
    rest_store.log_metric(run_id, Metric("m", 0.5, 10, 0))
    rest_store.log_metric(run_id, Metric("m", float("nan"), 11, 1))
    rest_store.log_param(run_id, Param("p", "1"))
    with pytest.raises(InvalidParameterValue):
        rest_store.log_param(run_id, Param("p", "2"))
    rest_store.set_tag(run_id, RunTag("k", "v"))
    rest_store.delete_tag(run_id, "k")
    with pytest.raises(ResourceDoesNotExist):
        rest_store.delete_tag(run_id, "k")
    for chunk in range(3):
        metrics = [
            Metric("batch", float(i), 100 + i, i) for i in range(chunk * 900, min(2500, chunk * 900 + 900))
        ]
        params = [Param(f"bp{chunk}_{i}", str(i)) for i in range(50)]
        tags = [RunTag(f"bt{i}", str(chunk)) for i in range(50)]
        rest_store.log_batch(run_id, metrics, params, tags)
    with pytest.raises(InvalidParameterValue):
        rest_store.log_batch(run_id, [Metric("x", 1.0, 1, i) for i in range(1001)])
    got = rest_store.get_run(run_id)
    assert got.data.params["bp2_49"] == "49" and got.data.tags["bt49"] == "2"
    assert got.data.metrics["batch"] == 2499.0
    import math

    assert math.isnan(got.data.metrics["m"])
    history = rest_store.get_metric_history(run_id, "batch")
    assert [m.step for m in history] == list(range(2500))
    page = rest_store.get_metric_history(run_id, "batch", max_results=1000)
    assert len(page) == 1000
    info = rest_store.update_run_info(run_id, RunStatus.FINISHED, 2000, "renamed")
    assert info.status == "FINISHED" and info.end_time == 2000 and info.run_name == "renamed"
    assert rest_store.get_run(run_id).data.tags["mlflow.runName"] == "renamed"
    found = rest_store.search_runs(
        [exp_id], "params.p = '1'", ViewType.ACTIVE_ONLY, 10, ["metrics.batch DESC"]
    )
    assert [r.info.run_id for r in found] == [run_id]
    ds = DatasetInput(Dataset("d", "abc", "code", "{}"), [InputTag("mlflow.data.context", "training")])
    rest_store.log_inputs(run_id, datasets=[ds])
    assert rest_store.get_run(run_id).inputs.dataset_inputs[0].dataset.name == "d"
    rest_store.delete_run(run_id)
    assert rest_store.get_run(run_id).info.lifecycle_stage == "deleted"
    rest_store.restore_run(run_id)
    with pytest.raises(ResourceDoesNotExist):
        rest_store.get_run("0" * 32)


def test_logged_models_over_rest(rest_store):
    exp_id = rest_store.create_experiment("e")
    run_id = rest_store.create_run(exp_id, "u", None, [], None).info.run_id
    params = [Param(f"p{i}", str(i)) for i in range(130)]
    model = rest_store.create_logged_model(exp_id, "model", run_id, [RunTag("t", "1")], params, "sk")
    assert len(model.params) == 130 and model.status == "LOGGED_MODEL_PENDING"
    ready = rest_store.finalize_logged_model(model.model_id, "LOGGED_MODEL_READY")
    assert ready.status == "LOGGED_MODEL_READY"
    rest_store.set_logged_model_tags(model.model_id, [RunTag("a/b", "2")])
    rest_store.delete_logged_model_tag(model.model_id, "a/b")
    assert "a/b" not in rest_store.get_logged_model(model.model_id).tags
    rest_store.log_outputs(run_id, [LoggedModelOutput(model.model_id, 0)])
    found = rest_store.search_logged_models([exp_id], "name = 'model'")
    assert [m.model_id for m in found] == [model.model_id]
    rest_store.delete_logged_model(model.model_id)
    with pytest.raises(ResourceDoesNotExist):
        rest_store.get_logged_model(model.model_id)


# ---------------------------------------------------------------- HTTP policy, against tiny real apps


def _flaky_app(fail_times: int, status: int, retry_after: str | None = None):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    calls = {"n": 0, "auth": []}

    def endpoint(request):
        calls["n"] += 1
        calls["auth"].append(request.headers.get("authorization"))
        if calls["n"] <= fail_times:
            headers = {"Retry-After": retry_after} if retry_after else {}
            return JSONResponse({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}, status, headers)
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/x", endpoint, methods=["GET", "POST"])]), calls


def _rest(app, **creds):
    from starlette.testclient import TestClient

    policy = RetryPolicy(max_retries=3, backoff_factor=0.01, backoff_jitter=0.0)
    return RestClient(HostCreds("http://testserver", **creds), client=TestClient(app), retry=policy)


@pytest.mark.parametrize("status", [429, 503, 500])
def test_retries_transient_statuses(status):
    app, calls = _flaky_app(2, status)
    assert _rest(app).call("GET", "/x") == {"ok": True}
    assert calls["n"] == 3


def test_retry_after_is_honoured():
    app, calls = _flaky_app(1, 429, retry_after="0.3")
    t0 = time.monotonic()
    _rest(app).call("POST", "/x", {"a": 1})
    assert time.monotonic() - t0 >= 0.3 and calls["n"] == 2


def test_gives_up_with_the_server_error():
    app, calls = _flaky_app(10, 503)
    with pytest.raises(Exception) as info:
        _rest(app).call("GET", "/x")
    assert info.value.error_code == "TEMPORARILY_UNAVAILABLE" and calls["n"] == 4


def test_connection_errors_retry_then_fail_fast():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = RestClient(
        HostCreds(f"http://127.0.0.1:{port}"),
        retry=RetryPolicy(max_retries=2, backoff_factor=0.01, backoff_jitter=0),
    )
    with pytest.raises(Exception) as info:
        client.call("GET", "/x")
    assert info.value.error_code == "TEMPORARILY_UNAVAILABLE"


def test_auth_headers():
    app, calls = _flaky_app(0, 200)
    _rest(app, token="tok").call("GET", "/x")
    _rest(app, username="u", password="p").call("GET", "/x")
    assert calls["auth"] == ["Bearer tok", "Basic dTpw"]


def test_auth_from_env(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "t1")
    assert HostCreds.from_env("http://h").auth_headers() == {"Authorization": "Bearer t1"}
    monkeypatch.setenv("LABKEEP_TRACKING_TOKEN", "t2")
    assert HostCreds.from_env("http://h").auth_headers() == {"Authorization": "Bearer t2"}
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "a")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "b")
    assert HostCreds.from_env("http://h").auth_headers()["Authorization"].startswith("Basic ")
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    assert HostCreds.from_env("http://h").ignore_tls_verification is True


def test_make_store_for_http_uri():
    store = make_store("http://127.0.0.1:1/")
    assert store.host_creds.host == "http://127.0.0.1:1"


def test_streamed_upload_is_rebuilt_for_a_retry():
    """A large artifact PUT answered 503 once is sent again whole (a stream can be read once only)."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    seen = []

    async def put(request):
        body = await request.body()
        seen.append(len(body))
        if len(seen) == 1:
            return JSONResponse({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}, 503)
        return Response(b"")

    app = Starlette(routes=[Route("/api/2.0/mlflow-artifacts/artifacts/{p:path}", put, methods=["PUT"])])
    client = _rest(app)
    import os
    import tempfile

    from labkeep.artifacts.http import PROGRESS_MIN_BYTES, HttpArtifactRepository

    repo = HttpArtifactRepository("http://testserver/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts")
    repo.rest = client
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "big.bin")
        with open(path, "wb") as f:
            f.write(b"x" * (PROGRESS_MIN_BYTES + 10))
        repo.log_artifact(path)
    assert seen == [PROGRESS_MIN_BYTES + 10, PROGRESS_MIN_BYTES + 10]
