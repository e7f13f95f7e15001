"""The route-table walk: every route of ``full_route_table()`` (REST, /ajax-api mirrors, artifact
proxy, OTLP, legacy downloads, UI pages and their JSON twins) declares what it needs, answers
nobody without credentials, and answers a user without permission 403 — so a route added later
without a check fails here."""

from __future__ import annotations

import json
import re

import pytest
from dbs import BACKENDS, temporary_database

from labkeep.server.app import full_route_table

from .auth_helpers import API, API3, PROXY, auth_client, make_user

SECRET_EXP, SECRET_MODEL, SECRET_DESC = "walk-secret-exp", "walk-secret-model", "walk-secret-description"
ORIGIN = {"Origin": "http://localhost"}


def test_every_route_declares_its_access():
    rows = full_route_table("")
    missing = [(r.methods, r.path) for r in rows if r.access is None]
    assert not missing, f"routes without a permission rule (labkeep/server/auth/access.py): {missing}"
    kinds = {r.access.kind for r in rows}
    assert kinds == {"public", "user", "admin", "resource"}
    public = sorted({r.path for r in rows if r.access.kind == "public"})
    assert public == sorted(
        [
            "/health",
            "/version",
            "/api/3.0/mlflow/server-info",
            "/ajax-api/3.0/mlflow/server-info",
            "/login",
            "/logout",
        ]
    )
    paths = {r.path for r in rows}
    assert {"/", "/runs/{run_id}", "/models.json", "/ui-api/artifact-raw", "/v1/traces"} <= paths


WALK_BACKENDS = [b for b in ("sqlite", "postgresql") if b in BACKENDS]


@pytest.fixture(scope="module", params=WALK_BACKENDS)
def walk(request, tmp_path_factory):
    """A server with default NO_PERMISSIONS; alice owns a whole world, mallory has no grant."""
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("walk")
    with (
        temporary_database(request.param, tmp) as uri,
        auth_client(mp, tmp, uri, auth_default_permission="NO_PERMISSIONS") as c,
    ):
        alice, mallory = make_user(c, "alice"), make_user(c, "mallory")
        exp = c.post(f"{API}/experiments/create", json={"name": SECRET_EXP}, headers=alice).json()[
            "experiment_id"
        ]
        run = c.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=alice).json()["run"]["info"][
            "run_id"
        ]
        art = f"{exp}/{run}/artifacts/a.txt"
        assert c.put(f"{PROXY}/{art}", content=b"secret bytes", headers=alice).status_code == 200
        model = c.post(f"{API}/logged-models", json={"experiment_id": exp}, headers=alice).json()["model"][
            "info"
        ]["model_id"]
        trace = {
            "trace_id": "tr-walk",
            "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}},
            "request_time": "2024-01-01T00:00:00Z",
            "state": "OK",
        }
        assert (
            c.post(f"{API3}/traces", json={"trace": {"trace_info": trace}}, headers=alice).status_code == 200
        )
        made = c.post(
            f"{API}/registered-models/create",
            json={"name": SECRET_MODEL, "description": SECRET_DESC},
            headers=alice,
        )
        assert made.status_code == 200
        mv = {"name": SECRET_MODEL, "source": f"runs:/{run}/model", "run_id": run}
        assert c.post(f"{API}/model-versions/create", json=mv, headers=alice).status_code == 200
        params = {
            "experiment_id": exp,
            "experiment_ids": [exp],
            "experiment_name": SECRET_EXP,
            "run_id": run,
            "run_uuid": run,
            "run_ids": [run],
            "runs": run,
            "model_id": model,
            "trace_id": "tr-walk",
            "trace_ids": ["tr-walk"],
            "request_ids": ["tr-walk"],
            "request_id": "tr-walk",
            "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}}],
            "trace": {"trace_info": {**trace, "trace_id": "tr-walk-2"}},
            "name": SECRET_MODEL,
            "new_name": "stolen",
            "version": "1",
            "alias": "champ",
            "stage": "Production",
            "key": "k",
            "value": "v",
            "metric_key": "m",
            "path": art,
            "artifact_file_path": "MLmodel",
            "source": f"runs:/{run}/model",
            "username": "alice",
            "resource_type": "experiment",
            "resource_id": exp,
            "permission": "MANAGE",
            "role_id": 1,
            "role_permission_id": 1,
            "action": "delete",
            "token_id": "nope",
        }
        issue = c.post(f"{API3}/issues", json={"experiment_id": exp, "name": "leak"}, headers=alice)
        assert issue.status_code == 200, issue.text
        dataset = c.post(
            f"{API3}/datasets/create", json={"name": "ds-walk", "experiment_ids": [exp]}, headers=alice
        )
        assert dataset.status_code == 200, dataset.text
        yield {
            "issue_id": issue.json()["issue"]["issue_id"],
            "dataset_id": dataset.json()["dataset"]["dataset_id"],
            "client": c,
            "alice": alice,
            "mallory": mallory,
            "exp": exp,
            "run": run,
            "model": model,
            "params": params,
        }
    mp.undo()


def _fill(path: str, w: dict) -> str:
    values = {
        "issue_id": w["issue_id"],
        "dataset_id": w["dataset_id"],
        "key": "k",
        "model_id": w["model"],
        "trace_id": "tr-walk",
        "request_id": "tr-walk",
        "assessment_id": "a-nope",
        "tag_key": "k",
        "path": w["params"]["path"],
        "experiment_id": w["exp"],
        "run_id": w["run"],
        "name": SECRET_MODEL,
        "version": "1",
    }
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)


def _call(w: dict, method: str, path: str, headers: dict):
    c, params = w["client"], w["params"]
    headers = {**headers, **ORIGIN, "x-mlflow-experiment-id": w["exp"]}
    is_ui = not path.startswith(
        ("/api/", "/ajax-api/", "/v1/", "/get-artifact", "/model-versions/", "/health", "/version", "/graphql")
    )
    if method in ("GET", "HEAD"):
        query = {k: v for k, v in params.items() if not isinstance(v, dict) and k != "locations"}
        return c.request(method, path, params=query, headers=headers, follow_redirects=False)
    if is_ui:
        form = {k: v for k, v in params.items() if isinstance(v, str)}
        return c.request(method, path, data=form, headers=headers, follow_redirects=False)
    query = {k: v for k, v in params.items() if k in ("run_uuid", "run_id", "path")}
    if "mlflow-artifacts/artifacts" in path and method == "PUT":
        return c.request(method, path, content=b"overwritten", headers=headers)
    return c.request(
        method,
        path,
        params=query,
        content=json.dumps(params),
        headers={**headers, "content-type": "application/json"},
    )


def _routes():
    for r in full_route_table(""):
        for m in r.methods:
            if m != "HEAD":
                yield pytest.param(m, r, id=f"{m} {r.path}")


@pytest.mark.parametrize("method,route", list(_routes()))
def test_route_refuses_callers_without_credentials_or_permission(walk, method, route):
    path = _fill(route.path, walk)
    kind = route.access.kind
    anon = _call(walk, method, path, {})
    assert anon.status_code < 500, anon.text[:300]
    if kind != "public":
        if anon.status_code == 303:  # a page: to the login form
            assert "/login" in anon.headers["location"]
        else:
            assert anon.status_code == 401, (anon.status_code, anon.text[:300])
        assert SECRET_EXP not in anon.text and b"secret bytes" not in anon.content
    got = _call(walk, method, path, walk["mallory"])
    assert got.status_code < 500, got.text[:300]
    if kind in ("resource", "admin"):
        assert got.status_code == 403, (got.status_code, got.text[:300])
    if method == "GET" and kind != "public":
        for secret in (SECRET_EXP, SECRET_DESC, walk["run"], walk["model"]):
            assert got.status_code != 200 or secret not in got.text, (secret, got.text[:300])
        assert b"secret bytes" not in got.content


def test_owner_reads_every_resource_route(walk):
    """The rules do not lock out the owner: alice (MANAGE by creation) reads through every GET route."""
    refused = []
    for r in full_route_table(""):
        if "GET" in r.methods and r.access.kind == "resource":
            got = _call(walk, "GET", _fill(r.path, walk), walk["alice"])
            if got.status_code in (401, 403) or got.status_code >= 500:
                refused.append((r.path, got.status_code, got.text[:200]))
    assert not refused, refused
    # and the world is intact after mallory's attempts
    c, alice = walk["client"], walk["alice"]
    assert c.get(f"{PROXY}/{walk['params']['path']}", headers=alice).content == b"secret bytes"
    assert (
        c.get(f"{API}/experiments/get", params={"experiment_id": walk["exp"]}, headers=alice).json()[
            "experiment"
        ]["lifecycle_stage"]
        == "active"
    )
    assert (
        c.get(f"{API}/registered-models/get", params={"name": SECRET_MODEL}, headers=alice).status_code == 200
    )


# ---- the inputs of mlflow's auth CVEs (routes that skipped the check), each as its own test


def test_cve_search_model_versions_does_not_list_unreadable_models(walk):
    c, mallory = walk["client"], walk["mallory"]
    for path in (f"{API}/model-versions/search", "/ajax-api/2.0/mlflow/model-versions/search"):
        got = c.get(path, params={"filter": f"name = '{SECRET_MODEL}'"}, headers=mallory)
        assert got.status_code == 200 and got.json().get("model_versions", []) == []
    got = c.get(
        f"{API}/model-versions/search", params={"filter": f"name = '{SECRET_MODEL}'"}, headers=walk["alice"]
    )
    assert [v["name"] for v in got.json()["model_versions"]] == [SECRET_MODEL]


def test_cve_trace_and_assessment_endpoints_check_the_experiment(walk):
    c, mallory = walk["client"], walk["mallory"]
    assert c.get(f"{API3}/traces/get", params={"trace_id": "tr-walk"}, headers=mallory).status_code == 403
    assert c.get(f"{API3}/traces/tr-walk", headers=mallory).status_code == 403
    body = {
        "assessment": {"assessment_name": "x", "feedback": {"value": 1}, "source": {"source_type": "HUMAN"}}
    }
    assert c.post(f"{API3}/traces/tr-walk/assessments", json=body, headers=mallory).status_code == 403
    tag = {"key": "owner", "value": "mallory"}
    assert c.patch(f"{API3}/traces/tr-walk/tags", json=tag, headers=mallory).status_code == 403
    assert c.get(f"{API3}/traces/tr-walk", headers=walk["alice"]).status_code == 200


def test_cve_logged_model_artifact_download_checks_the_experiment(walk):
    c, mallory = walk["client"], walk["mallory"]
    url = f"{API}/logged-models/{walk['model']}/artifacts/files"
    assert c.get(url, params={"artifact_file_path": "MLmodel"}, headers=mallory).status_code == 403
    url = f"{API}/logged-models/{walk['model']}/artifacts/directories"
    assert c.get(url, headers=mallory).status_code == 403


def test_cve_multipart_upload_and_proxy_check_the_path(walk):
    c, mallory, exp, run = walk["client"], walk["mallory"], walk["exp"], walk["run"]
    for op in ("create", "complete", "abort"):
        r = c.post(
            f"/api/2.0/mlflow-artifacts/mpu/{op}/{exp}/{run}/artifacts",
            json={"path": "x.bin"},
            headers=mallory,
        )
        assert r.status_code == 403, op
    assert c.put(f"{PROXY}/{exp}/{run}/artifacts/evil.txt", content=b"x", headers=mallory).status_code == 403
    assert c.delete(f"{PROXY}/{exp}/{run}/artifacts/a.txt", headers=mallory).status_code == 403
    assert c.get(PROXY, params={"path": ""}, headers=mallory).status_code == 403  # the root: admins only


def test_cve_routes_outside_the_api_app_are_checked(walk):
    """Legacy downloads, the UI's upload, OTLP and the UI's JSON islands go through the same rules."""
    c, mallory, exp, run = walk["client"], walk["mallory"], walk["exp"], walk["run"]
    assert c.get("/get-artifact", params={"run_id": run, "path": "a.txt"}, headers=mallory).status_code == 403
    mv = {"name": SECRET_MODEL, "version": "1", "path": "MLmodel"}
    assert c.get("/model-versions/get-artifact", params=mv, headers=mallory).status_code == 403
    up = c.post("/ajax-api/2.0/mlflow/upload-artifact", params={"run_uuid": run, "path": "x"}, content=b"x",
                headers={**mallory, "content-type": "application/octet-stream"})  # fmt: skip
    assert up.status_code == 403
    otlp = c.post("/v1/traces", content=b"", headers={**mallory, "x-mlflow-experiment-id": exp,
                                                    "content-type": "application/x-protobuf"})  # fmt: skip
    assert otlp.status_code == 403
    raw = c.get("/ui-api/artifact-raw", params={"run_id": run, "path": "a.txt"}, headers=mallory)
    assert raw.status_code == 403 and b"secret bytes" not in raw.content


def test_graphql_fields_keep_the_rest_permission_rules(walk):
    """GraphQL is open to any user, but each root field is checked like its REST route."""
    c = walk["client"]
    query = (
        'query { e: mlflowGetExperiment(input: {experimentId: "EXP"}) { experiment { name } }'
        ' r: mlflowGetRun(input: {runId: "RUN"}) { run { info { runId } modelVersions { name } } }'
        ' s: mlflowSearchRuns(input: {experimentIds: ["EXP"]}) { runs { info { runId } } } }'
    ).replace("EXP", walk["exp"]).replace("RUN", walk["run"])
    got = c.post("/graphql", json={"query": query}, headers={**walk["mallory"], **ORIGIN})
    assert got.status_code == 200
    body = got.json()
    assert body["data"] == {"e": None, "r": None, "s": None} and len(body["errors"]) == 3
    assert SECRET_EXP not in got.text and SECRET_MODEL not in got.text
    assert c.post("/graphql", json={"query": query}, headers=ORIGIN).status_code == 401
    owner = c.post("/graphql", json={"query": query}, headers={**walk["alice"], **ORIGIN}).json()
    assert owner["errors"] is None
    assert owner["data"]["e"]["experiment"]["name"] == SECRET_EXP
    assert owner["data"]["r"]["run"]["modelVersions"] == [{"name": SECRET_MODEL}]
    assert owner["data"]["s"]["runs"] == [{"info": {"runId": walk["run"]}}]
