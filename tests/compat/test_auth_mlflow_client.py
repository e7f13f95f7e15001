"""The official mlflow client (3.17.2) against ``labkeep server --app-name basic-auth`` (a real
process): Basic and Bearer credentials, the basic-auth app client for users/grants/roles."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx

from tests.server.helpers import running_server

HERE = os.path.dirname(__file__)


def test_official_client_with_basic_bearer_and_auth_app_client(tmp_path, db_uri):
    env = {"MLFLOW_AUTH_ADMIN_PASSWORD": "admin-pw"}
    with running_server(
        ["--backend-store-uri", db_uri, "--app-name", "basic-auth"], cwd=str(tmp_path), env=env
    ) as (
        url,
        _proc,
    ):
        assert (
            httpx.get(url + "/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"}).status_code
            == 401
        )
        run_env = dict(os.environ)
        run_env.update(
            MLFLOW_TRACKING_URI=url,
            MLFLOW_TRACKING_USERNAME="admin",
            MLFLOW_TRACKING_PASSWORD="admin-pw",
            MLFLOW_DISABLE_TELEMETRY="true",
            MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        )
        out_file = tmp_path / "out.json"
        proc = subprocess.run(
            [sys.executable, os.path.join(HERE, "auth_flow_script.py"), str(out_file)],
            env=run_env,
            cwd=str(tmp_path),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r = json.loads(out_file.read_text())
    assert r["alice"] == {"id": r["alice"]["id"], "username": "alice", "is_admin": False}
    assert r["get_user"] == "alice" and r["alice_self_get"] == "alice"
    assert r["alice_perm"] == {"allowed": True, "permission": "MANAGE"}
    assert r["run_status"] == "FINISHED" and r["artifacts"] == ["notes/hello.txt"]
    assert r["mallory_read"] == {"lr": "0.1"}
    assert r["mallory_delete_exp"] == r["mallory_log"] == r["mallory_delete_model"] == "PERMISSION_DENIED"
    assert r["mallory_grant"] == "PERMISSION_DENIED"
    assert r["wrong_password"] == r["no_credentials"] == "UNAUTHENTICATED"
    assert r["bearer_history"] == [0.5, 0.25]
    assert r["bearer_delete_exp"] == "PERMISSION_DENIED"
    assert r["role"] == {"name": "readers", "perm": "READ", "users": 1} and r["user_roles"] == ["readers"]
    assert r["new_password"] == "ok"
    assert r["deleted"] == "RESOURCE_DOES_NOT_EXIST"
