"""Registry REST endpoints through the server app: wire shapes, status codes and error codes."""

from __future__ import annotations

import base64
import uuid
import warnings

import pytest

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

API = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from starlette.testclient import TestClient

    from labkeep.server.app import create_app
    from labkeep.server.settings import ServerSettings

    tmp = tmp_path_factory.mktemp("rest")
    settings = ServerSettings(
        backend_store_uri=f"sqlite:///{tmp}/store.db", artifacts_destination=str(tmp / "artifacts")
    )
    app = create_app(settings)
    with TestClient(app, base_url="http://localhost") as client:
        yield client
    app.state.ctx.tracking_store.close()


@pytest.fixture
def name():
    return "rest_" + uuid.uuid4().hex[:8]


def _err(resp, status, code):
    assert resp.status_code == status, resp.text
    assert resp.json()["error_code"] == code, resp.text
    assert resp.json()["message"]


def _run(api) -> tuple[str, str]:
    """A run logged through the tracking API (its artifact_uri is under mlflow-artifacts:/)."""
    exp = api.post(f"{API}/experiments/create", json={"name": "e" + uuid.uuid4().hex[:8]}).json()[
        "experiment_id"
    ]
    run = api.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]
    return run["run_id"], run["artifact_uri"]


def _model_with_version(api, name) -> str:
    run_id, _ = _run(api)
    assert api.post(f"{API}/registered-models/create", json={"name": name}).status_code == 200
    r = api.post(
        f"{API}/model-versions/create",
        json={"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id},
    )
    assert r.status_code == 200, r.text
    return run_id


def test_create_and_get_shapes(api, name):
    r = api.post(
        f"{API}/registered-models/create",
        json={"name": name, "tags": [{"key": "team", "value": "x"}], "description": "d"},
    )
    assert r.status_code == 200
    rm = r.json()["registered_model"]
    assert rm["name"] == name and rm["tags"] == [{"key": "team", "value": "x"}]
    assert isinstance(rm["creation_timestamp"], int)
    run_id, artifact_uri = _run(api)
    r = api.post(
        f"{API}/model-versions/create",
        json={"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id, "run_uuid": run_id},
    )
    mv = r.json()["model_version"]
    assert mv["status"] == "READY" and mv["version"] == "1" and mv["current_stage"] == "None"
    assert mv["run_id"] == run_id
    r = api.get(f"{API}/model-versions/get-download-uri", params={"name": name, "version": "1"})
    assert r.json() == {"artifact_uri": f"{artifact_uri}/model"}
    got = api.get(f"{API}/registered-models/get", params={"name": name}).json()["registered_model"]
    assert got["latest_versions"][0]["version"] == "1"


def test_registered_model_errors(api, name):
    api.post(f"{API}/registered-models/create", json={"name": name})
    _err(api.post(f"{API}/registered-models/create", json={"name": name}), 400, "RESOURCE_ALREADY_EXISTS")
    _err(api.post(f"{API}/registered-models/create", json={"name": "a/b"}), 400, "INVALID_PARAMETER_VALUE")
    _err(api.post(f"{API}/registered-models/create", json={"name": "a:b"}), 400, "INVALID_PARAMETER_VALUE")
    _err(api.post(f"{API}/registered-models/create", json={}), 400, "INVALID_PARAMETER_VALUE")
    _err(api.get(f"{API}/registered-models/get", params={"name": name + "x"}), 404, "RESOURCE_DOES_NOT_EXIST")
    _err(
        api.post(f"{API}/registered-models/create", json={"name": name + "d", "description": "x" * 6000}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    _err(api.get(f"{API}/registered-models/get", params={"name": name + "d"}), 404, "RESOURCE_DOES_NOT_EXIST")


def test_model_version_errors(api, name):
    run_id = _model_with_version(api, name)
    _err(
        api.get(f"{API}/model-versions/get", params={"name": name, "version": "9"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    _err(
        api.get(f"{API}/model-versions/get", params={"name": name, "version": "x"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    _err(
        api.post(f"{API}/model-versions/create", json={"name": name + "zz", "source": f"runs:/{run_id}/m"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    other, _ = _run(api)
    _err(
        api.post(
            f"{API}/model-versions/create",
            json={"name": name, "source": f"runs:/{run_id}/m", "run_id": other},
        ),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    for source in (
        "file:///etc/",
        "/etc/passwd",
        f"runs:/{run_id}/../../../etc",
        "mlflow-artifacts:/1/%2e%2e/x",
    ):
        _err(
            api.post(f"{API}/model-versions/create", json={"name": name, "source": source}),
            400,
            "INVALID_PARAMETER_VALUE",
        )
    _err(api.post(f"{API}/model-versions/create", json={"name": name}), 400, "INVALID_PARAMETER_VALUE")
    versions = api.get(f"{API}/model-versions/search", params={"filter": f"name = '{name}'"}).json()[
        "model_versions"
    ]
    assert [v["version"] for v in versions] == ["1"]


def test_stages_over_rest(api, name):
    _model_with_version(api, name)
    r = api.post(
        f"{API}/model-versions/transition-stage",
        json={"name": name, "version": "1", "stage": "staging", "archive_existing_versions": False},
    )
    assert r.json()["model_version"]["current_stage"] == "Staging"
    r = api.post(
        f"{API}/model-versions/transition-stage", json={"name": name, "version": "1", "stage": "Prod"}
    )
    _err(r, 400, "INVALID_PARAMETER_VALUE")
    assert "Staging" in r.json()["message"] and "Production" in r.json()["message"]
    r = api.post(
        f"{API}/model-versions/transition-stage",
        json={"name": name, "version": "1", "stage": "Archived", "archive_existing_versions": True},
    )
    _err(r, 400, "INVALID_PARAMETER_VALUE")
    # repeated query keys for GET get-latest-versions
    r = api.get(
        f"{API}/registered-models/get-latest-versions",
        params=[("name", name), ("stages", "Staging"), ("stages", "None")],
    )
    assert [v["version"] for v in r.json()["model_versions"]] == ["1"]
    r = api.post(
        f"{API}/registered-models/get-latest-versions", json={"name": name, "stages": ["Production"]}
    )
    assert r.json()["model_versions"] == []


def test_aliases_over_rest(api, name):
    _model_with_version(api, name)
    for alias in ("latest", "Latest", "v1", "with space"):
        r = api.post(f"{API}/registered-models/alias", json={"name": name, "alias": alias, "version": "1"})
        _err(r, 400, "INVALID_PARAMETER_VALUE")
    _err(
        api.post(f"{API}/registered-models/alias", json={"name": name, "alias": "champion", "version": "5"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert (
        api.post(
            f"{API}/registered-models/alias", json={"name": name, "alias": "champion", "version": "1"}
        ).json()
        == {}
    )
    mv = api.get(f"{API}/registered-models/alias", params={"name": name, "alias": "champion"}).json()[
        "model_version"
    ]
    assert mv["aliases"] == ["champion"] and mv["version"] == "1"
    _err(
        api.get(f"{API}/registered-models/alias", params={"name": name, "alias": "nope"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    _err(
        api.get(f"{API}/registered-models/alias", params={"name": name + "x", "alias": "champion"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    rm = api.get(f"{API}/registered-models/get", params={"name": name}).json()["registered_model"]
    assert rm["aliases"] == [{"alias": "champion", "version": "1"}]
    assert (
        api.request(
            "DELETE", f"{API}/registered-models/alias", json={"name": name, "alias": "champion"}
        ).json()
        == {}
    )
    assert (
        "aliases"
        not in api.get(f"{API}/registered-models/get", params={"name": name}).json()["registered_model"]
    )


def test_tags_update_rename_delete_over_rest(api, name):
    _model_with_version(api, name)
    assert (
        api.post(f"{API}/registered-models/set-tag", json={"name": name, "key": "k", "value": "v"}).json()
        == {}
    )
    assert (
        api.post(
            f"{API}/model-versions/set-tag", json={"name": name, "version": "1", "key": "a", "value": "b"}
        ).json()
        == {}
    )
    _err(
        api.post(f"{API}/model-versions/set-tag", json={"name": name, "version": "1", "key": "bad*"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    r = api.patch(f"{API}/model-versions/update", json={"name": name, "version": "1", "description": "dd"})
    assert r.json()["model_version"]["description"] == "dd" and r.json()["model_version"]["tags"] == [
        {"key": "a", "value": "b"}
    ]
    r = api.patch(f"{API}/registered-models/update", json={"name": name, "description": "rd"})
    assert r.json()["registered_model"]["description"] == "rd"
    assert (
        api.request(
            "DELETE", f"{API}/model-versions/delete-tag", json={"name": name, "version": "1", "key": "a"}
        ).json()
        == {}
    )
    _err(
        api.request("DELETE", f"{API}/registered-models/delete-tag", json={"name": name, "key": "zz"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    new = name + "_new"
    assert (
        api.post(f"{API}/registered-models/rename", json={"name": name, "new_name": new}).json()[
            "registered_model"
        ]["name"]
        == new
    )
    assert (
        api.request("DELETE", f"{API}/model-versions/delete", json={"name": new, "version": "1"}).json() == {}
    )
    _err(
        api.get(f"{API}/model-versions/get", params={"name": new, "version": "1"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert api.request("DELETE", f"{API}/registered-models/delete", json={"name": new}).json() == {}
    _err(api.get(f"{API}/registered-models/get", params={"name": new}), 404, "RESOURCE_DOES_NOT_EXIST")


def test_search_paging_over_rest(api):
    prefix = "pg_" + uuid.uuid4().hex[:6]
    for i in range(3):
        api.post(f"{API}/registered-models/create", json={"name": f"{prefix}_{i}"})
    r = api.get(
        f"{API}/registered-models/search",
        params={"filter": f"name LIKE '{prefix}%'", "max_results": "2", "order_by": "name DESC"},
    ).json()
    assert [m["name"] for m in r["registered_models"]] == [f"{prefix}_2", f"{prefix}_1"]
    r2 = api.get(
        f"{API}/registered-models/search",
        params={
            "filter": f"name LIKE '{prefix}%'",
            "max_results": "2",
            "order_by": "name DESC",
            "page_token": r["next_page_token"],
        },
    ).json()
    assert [m["name"] for m in r2["registered_models"]] == [f"{prefix}_0"] and "next_page_token" not in r2
    _err(
        api.get(f"{API}/registered-models/search", params={"max_results": "1001"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    _err(
        api.get(f"{API}/registered-models/search", params={"page_token": "garbage!"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    _err(
        api.get(f"{API}/model-versions/search", params={"filter": "current_stage = 'None'"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )


def test_history_records_basic_auth_user(api, name):
    _model_with_version(api, name)
    auth = {"Authorization": "Basic " + base64.b64encode(b"alice:pw").decode()}
    api.post(
        f"{API}/model-versions/transition-stage",
        json={"name": name, "version": "1", "stage": "Production", "comment": "ship it"},
        headers=auth,
    )
    api.post(
        f"{API}/registered-models/alias",
        json={"name": name, "alias": "prod", "version": "1"},
        headers={"X-Labkeep-User": "bob"},
    )
    api.post(f"{API}/registered-models/alias", json={"name": name, "alias": "other", "version": "1"})
    events = api.get("/api/2.0/labkeep/registered-models/history", params={"name": name}).json()["events"]
    assert [(e["kind"], e.get("user_id"), e.get("to_value"), e.get("comment")) for e in events] == [
        ("stage", "alice", "Production", "ship it"),
        ("alias", "bob", "1", None),
        ("alias", None, "1", None),  # no user named in the request: none recorded
    ]
    per_version = api.get(
        "/api/2.0/labkeep/registered-models/history", params={"name": name, "version": "1"}
    ).json()
    assert len(per_version["events"]) == 3
    _err(
        api.get("/api/2.0/labkeep/registered-models/history", params={"name": name + "x"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
