"""REST API shapes and error codes, in process (TestClient → app → SQL store)."""

from __future__ import annotations

API = "/api/2.0/mlflow"


def _exp(client, name="e"):
    r = client.post(f"{API}/experiments/create", json={"name": name})
    assert r.status_code == 200, r.text
    return r.json()["experiment_id"]


def _run(client, exp_id, **kw):
    r = client.post(f"{API}/runs/create", json={"experiment_id": exp_id, **kw})
    assert r.status_code == 200, r.text
    return r.json()["run"]


def test_service_routes(client):
    assert client.get("/health").text == "OK"
    assert client.get("/version").text == "3.17.2"
    info = client.get("/api/3.0/mlflow/server-info").json()
    assert info["multipart_uploads_enabled"] is False
    assert client.get("/ajax-api/3.0/mlflow/server-info").status_code == 200


def test_experiment_lifecycle_and_codes(client):
    r = client.get(f"{API}/experiments/get-by-name", params={"experiment_name": "nope"})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    exp_id = _exp(client, "first")
    exp = client.get(f"{API}/experiments/get", params={"experiment_id": exp_id}).json()["experiment"]
    assert exp["name"] == "first"
    assert exp["artifact_location"] == f"mlflow-artifacts:/{exp_id}"
    dup = client.post(f"{API}/experiments/create", json={"name": "first"})
    assert dup.status_code == 400 and dup.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert client.get(f"{API}/experiments/get", params={"experiment_id": "abc"}).status_code == 400
    assert client.get(f"{API}/experiments/get", params={"experiment_id": "999"}).status_code == 404
    assert client.get(f"{API}/experiments/get").json()["error_code"] == "INVALID_PARAMETER_VALUE"
    client.post(
        f"{API}/experiments/set-experiment-tag", json={"experiment_id": exp_id, "key": "k", "value": "v"}
    )
    client.post(f"{API}/experiments/update", json={"experiment_id": exp_id, "new_name": "renamed"})
    exp = client.get(f"{API}/experiments/get-by-name", params={"experiment_name": "renamed"}).json()[
        "experiment"
    ]
    assert exp["tags"] == [{"key": "k", "value": "v"}]
    found = client.post(f"{API}/experiments/search", json={"max_results": 10, "filter": "name = 'renamed'"})
    assert [e["name"] for e in found.json()["experiments"]] == ["renamed"]
    assert client.post(f"{API}/experiments/delete", json={"experiment_id": exp_id}).json() == {}
    deleted = client.get(f"{API}/experiments/get", params={"experiment_id": exp_id}).json()["experiment"]
    assert deleted["lifecycle_stage"] == "deleted"
    r = client.post(f"{API}/runs/create", json={"experiment_id": exp_id})
    assert r.status_code == 400


def test_run_logging_round_trip(client):
    exp_id = _exp(client)
    run = _run(client, exp_id, run_name="r1", start_time=5, tags=[{"key": "t", "value": "1"}])
    run_id = run["info"]["run_id"]
    assert run["info"]["run_uuid"] == run_id and run["info"]["status"] == "RUNNING"
    assert run["info"]["artifact_uri"] == f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts"
    for step in range(3):
        r = client.post(
            f"{API}/runs/log-metric",
            json={
                "run_id": run_id,
                "run_uuid": run_id,
                "key": "loss",
                "value": 1.0 / (step + 1),
                "timestamp": 10,
                "step": step,
            },
        )
        assert r.status_code == 200 and r.json() == {}
    client.post(f"{API}/runs/log-parameter", json={"run_uuid": run_id, "key": "lr", "value": "0.1"})
    same = client.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "lr", "value": "0.1"})
    assert same.status_code == 200
    changed = client.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "lr", "value": "0.2"})
    assert changed.status_code == 400 and changed.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    batch = {
        "run_id": run_id,
        "metrics": [{"key": "acc", "value": "NaN", "timestamp": 1, "step": 0}],
        "params": [{"key": "p2", "value": "x"}],
        "tags": [{"key": "t2", "value": "y"}],
    }
    assert client.post(f"{API}/runs/log-batch", json=batch).status_code == 200
    client.post(f"{API}/runs/set-tag", json={"run_id": run_id, "key": "gone", "value": "1"})
    client.post(f"{API}/runs/delete-tag", json={"run_id": run_id, "key": "gone"})
    missing = client.post(f"{API}/runs/delete-tag", json={"run_id": run_id, "key": "gone"})
    assert missing.status_code == 404

    data = client.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"]
    metrics = {m["key"]: m for m in data["metrics"]}
    assert metrics["loss"]["step"] == 2 and metrics["acc"]["value"] == "NaN"
    assert {p["key"]: p["value"] for p in data["params"]} == {"lr": "0.1", "p2": "x"}
    tags = {t["key"]: t["value"] for t in data["tags"]}
    assert tags["t"] == "1" and tags["t2"] == "y" and "gone" not in tags

    hist = client.get(
        f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss", "max_results": 25000}
    )
    assert [m["step"] for m in hist.json()["metrics"]] == [0, 1, 2]
    bulk = client.get(
        f"{API}/metrics/get-history-bulk-interval",
        params={"run_ids": [run_id], "metric_key": "loss", "start_step": 1, "end_step": 2},
    )
    assert [(m["run_id"], m["step"]) for m in bulk.json()["metrics"]] == [(run_id, 1), (run_id, 2)]

    upd = client.post(f"{API}/runs/update", json={"run_id": run_id, "status": "FINISHED", "end_time": 99})
    assert upd.json()["run_info"]["status"] == "FINISHED" and upd.json()["run_info"]["end_time"] == 99
    found = client.post(
        f"{API}/runs/search",
        json={"experiment_ids": [exp_id], "filter": "metrics.loss < 1", "order_by": ["metrics.loss ASC"]},
    ).json()["runs"]
    assert [r["info"]["run_id"] for r in found] == [run_id]
    client.post(f"{API}/runs/delete", json={"run_id": run_id})
    write = client.post(f"{API}/runs/set-tag", json={"run_id": run_id, "key": "a", "value": "b"})
    assert write.status_code == 400


def test_log_batch_limits(client):
    run_id = _run(client, _exp(client))["info"]["run_id"]
    too_many = [{"key": f"m{i}", "value": 1, "timestamp": 1} for i in range(1001)]
    r = client.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": too_many})
    assert r.status_code == 400 and "1000" in r.json()["message"]
    params = [{"key": f"p{i}", "value": "1"} for i in range(101)]
    assert client.post(f"{API}/runs/log-batch", json={"run_id": run_id, "params": params}).status_code == 400
    dup = [{"key": "p", "value": "1"}, {"key": "p", "value": "1"}]
    assert client.post(f"{API}/runs/log-batch", json={"run_id": run_id, "params": dup}).status_code == 400


def test_logged_models(client):
    exp_id = _exp(client)
    run_id = _run(client, exp_id)["info"]["run_id"]
    r = client.post(
        f"{API}/logged-models",
        json={
            "experiment_id": exp_id,
            "name": "model",
            "source_run_id": run_id,
            "params": [{"key": "a", "value": "1"}],
        },
    )
    model = r.json()["model"]
    model_id = model["info"]["model_id"]
    assert model["info"]["status"] == "LOGGED_MODEL_PENDING"
    assert model["info"]["artifact_uri"] == f"mlflow-artifacts:/{exp_id}/models/{model_id}/artifacts"
    fin = client.patch(
        f"{API}/logged-models/{model_id}", json={"model_id": model_id, "status": "LOGGED_MODEL_READY"}
    )
    assert fin.json()["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    client.patch(f"{API}/logged-models/{model_id}/tags", json={"tags": [{"key": "k", "value": "v"}]})
    assert (
        client.post(
            f"{API}/runs/outputs", json={"run_id": run_id, "models": [{"model_id": model_id, "step": 0}]}
        ).status_code
        == 200
    )
    got = client.get(f"{API}/logged-models/{model_id}").json()["model"]
    assert {"key": "k", "value": "v"} in got["info"]["tags"]
    found = client.post(
        f"{API}/logged-models/search", json={"experiment_ids": [exp_id], "filter": "name = 'model'"}
    )
    assert [m["info"]["model_id"] for m in found.json()["models"]] == [model_id]
    client.delete(f"{API}/logged-models/{model_id}/tags/k")
    assert "tags" not in client.get(f"{API}/logged-models/{model_id}").json()["model"]["info"] or all(
        t["key"] != "k" for t in client.get(f"{API}/logged-models/{model_id}").json()["model"]["info"]["tags"]
    )
    outputs = client.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["outputs"]
    assert outputs == {"model_outputs": [{"model_id": model_id, "step": 0}]}
    assert client.get(f"{API}/logged-models/m-{'0' * 32}").status_code == 404


def test_artifact_proxy_round_trip(client):
    exp_id = _exp(client)
    run_id = _run(client, exp_id)["info"]["run_id"]
    base = f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts"
    assert client.put(f"{base}/notes.txt", content=b"hello").status_code == 200
    assert client.put(f"{base}/dir/sub/b.bin", content=b"\x00\x01").status_code == 200
    listing = client.get(
        "/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{exp_id}/{run_id}/artifacts"}
    ).json()
    assert listing == {
        "files": [{"path": "dir", "is_dir": True}, {"path": "notes.txt", "is_dir": False, "file_size": 5}]
    }
    assert (
        client.get(
            "/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{exp_id}/{run_id}/artifacts/notes.txt"}
        ).json()
        == {}
    )
    assert client.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": "nope"}).json() == {}
    got = client.get(f"{base}/notes.txt")
    assert got.content == b"hello"
    assert got.headers["content-type"].startswith("text/plain")
    assert got.headers["content-disposition"] == 'attachment; filename="notes.txt"'
    assert got.headers["x-content-type-options"] == "nosniff"
    missing = client.get(f"{base}/missing.txt")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert client.get(f"{base}/dir").status_code == 400
    runs_list = client.get(f"{API}/artifacts/list", params={"run_id": run_id, "path": "dir/sub"}).json()
    assert runs_list["files"] == [{"path": "dir/sub/b.bin", "is_dir": False, "file_size": 2}]
    legacy = client.get("/get-artifact", params={"run_uuid": run_id, "path": "notes.txt"})
    assert legacy.content == b"hello"
    up = client.post(f"/ajax-api/2.0/mlflow/upload-artifact?run_uuid={run_id}&path=up.txt", content=b"u")
    assert up.status_code == 200 and client.get(f"{base}/up.txt").content == b"u"
    assert client.delete(f"{base}/notes.txt").status_code == 200
    assert client.get(f"{base}/notes.txt").status_code == 404


def test_ajax_mirror_and_unknown_routes(client):
    exp_id = _exp(client)
    r = client.get("/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": exp_id})
    assert r.json()["experiment"]["experiment_id"] == exp_id
    r = client.get(f"{API}/no/such/thing")
    assert r.status_code == 404 and r.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert client.delete(f"{API}/runs/get").status_code == 405


def test_index_page_escapes_names(client):
    _exp(client, "<script>alert(1)</script>")
    page = client.get("/")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text


def test_static_prefix(tmp_path, sqlite_uri):
    from starlette.testclient import TestClient

    from labkeep.server.app import create_app
    from labkeep.server.settings import ServerSettings

    app = create_app(
        ServerSettings(
            backend_store_uri=sqlite_uri, artifacts_destination=str(tmp_path / "a"), static_prefix="/lk"
        )
    )
    with TestClient(app, base_url="http://localhost") as c:
        assert c.get("/lk/health").text == "OK"
        r = c.post("/lk/api/2.0/mlflow/experiments/create", json={"name": "x"})
        assert r.status_code == 200
        assert c.post("/api/2.0/mlflow/experiments/create", json={"name": "y"}).status_code == 404
    app.state.ctx.tracking_store.close()


def test_legacy_model_version_artifact_download(client):
    exp_id = _exp(client)
    run_id = _run(client, exp_id)["info"]["run_id"]
    base = f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts"
    client.put(f"{base}/model/MLmodel", content=b"flavors: {}\n")
    client.post(f"{API}/registered-models/create", json={"name": "Legacy"})
    r = client.post(
        f"{API}/model-versions/create",
        json={"name": "Legacy", "source": f"runs:/{run_id}/model", "run_id": run_id},
    )
    assert r.status_code == 200, r.text
    got = client.get(
        "/model-versions/get-artifact", params={"name": "Legacy", "version": "1", "path": "MLmodel"}
    )
    assert got.status_code == 200 and got.content == b"flavors: {}\n"
    missing = client.get(
        "/model-versions/get-artifact", params={"name": "Legacy", "version": "1", "path": "nope"}
    )
    assert missing.status_code == 404


def test_multipart_upload_refused_for_local_destination(client):
    info = client.get("/api/3.0/mlflow/server-info").json()
    assert info["multipart_uploads_enabled"] is False
    r = client.post(
        "/api/2.0/mlflow-artifacts/mpu/create/0/r/artifacts/big.bin", json={"path": "big.bin", "num_parts": 2}
    )
    assert r.status_code == 501
    # the mlflow client recognises this prefix and falls back to a single PUT
    assert r.json()["message"].startswith(
        "Multipart upload is not supported for the current artifact repository"
    )
