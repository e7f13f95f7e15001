"""``labkeep server --app-name basic-auth`` as a real process: bootstrap, refusal, warnings, CSRF probe."""

from __future__ import annotations

import subprocess
import sys

import httpx

from .helpers import SERVER_CMD, free_port, running_server


def test_refuses_to_start_without_admin_credentials(tmp_path):
    proc = subprocess.run(
        [
            *SERVER_CMD,
            "--port",
            str(free_port()),
            "--backend-store-uri",
            f"sqlite:///{tmp_path}/a.db",
            "--auth",
        ],
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in __import__("os").environ.items() if not k.startswith("MLFLOW_AUTH")},
    )
    assert proc.returncode != 0
    assert "MLFLOW_AUTH_ADMIN_PASSWORD" in proc.stderr and "Traceback" not in proc.stderr


def test_config_file_bootstrap_and_default_permission(tmp_path):
    ini = tmp_path / "auth.ini"
    ini.write_text(
        "[mlflow]\nadmin_username = root\nadmin_password = r00t-pw\ndefault_permission = NO_PERMISSIONS\n"
    )
    db = f"sqlite:///{tmp_path}/b.db"
    with running_server(
        ["--backend-store-uri", db, "--app-name", "basic-auth"],
        cwd=str(tmp_path),
        env={"MLFLOW_AUTH_CONFIG_PATH": str(ini)},
    ) as (url, _):
        api = url + "/api/2.0/mlflow"
        me = httpx.get(api + "/users/current", auth=("root", "r00t-pw")).json()["user"]
        assert me["username"] == "root" and me["is_admin"] is True
        httpx.post(api + "/users/create", json={"username": "u", "password": "p"}, auth=("root", "r00t-pw"))
        # default_permission from the file: u sees no experiment, not even Default
        got = httpx.get(api + "/experiments/get", params={"experiment_id": "0"}, auth=("u", "p"))
        assert got.status_code == 403
    # restarted without any admin settings: users exist, so it starts
    with running_server(["--backend-store-uri", db, "--auth"], cwd=str(tmp_path)) as (url, _):
        assert httpx.get(url + "/api/2.0/mlflow/users/current", auth=("u", "p")).status_code == 200


def test_issue_probe_cross_site_form_delete_is_refused_without_auth(tmp_path):
    with running_server(["--backend-store-uri", f"sqlite:///{tmp_path}/c.db"], cwd=str(tmp_path)) as (url, _):
        api = url + "/api/2.0/mlflow"
        exp = httpx.post(api + "/experiments/create", json={"name": "keep"}).json()["experiment_id"]
        r = httpx.post(
            f"{api}/experiments/delete?experiment_id={exp}",
            headers={"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"},
            content=b"",
        )
        assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"
        assert "Cross-site" in r.json()["message"]
        # a JSON write from a foreign origin is refused too; from no origin (a script) it is fine
        r = httpx.post(
            api + "/experiments/update",
            json={"experiment_id": exp, "new_name": "x"},
            headers={"Origin": "http://evil.example"},
        )
        assert r.status_code == 403
        got = httpx.get(api + "/experiments/get", params={"experiment_id": exp}).json()["experiment"]
        assert got["lifecycle_stage"] == "active" and got["name"] == "keep"
        # CORS stays closed: no preflight answer for a foreign origin
        pre = httpx.options(
            api + "/experiments/delete",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers


def test_non_loopback_without_auth_warns_on_start_and_health(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [
            *SERVER_CMD,
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path}/d.db",
        ],
        cwd=str(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        from .helpers import wait_healthy

        wait_healthy(f"http://127.0.0.1:{port}", proc, timeout=120)
        health = httpx.get(f"http://127.0.0.1:{port}/health").json()
        assert health["status"] == "OK" and health["auth_enabled"] is False
        assert any("without authentication" in w for w in health["warnings"])
        assert any("--allowed-hosts" in w for w in health["warnings"])
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert "WARNING" in out and "without authentication" in out and "--allowed-hosts" in out


def test_local_server_health_stays_plain_ok(tmp_path):
    with running_server(["--backend-store-uri", f"sqlite:///{tmp_path}/e.db"], cwd=str(tmp_path)) as (url, _):
        assert httpx.get(url + "/health").text == "OK"


def test_users_cli_round_trip(tmp_path):
    db = f"sqlite:///{tmp_path}/f.db"
    cli = [sys.executable, "-c", "from labkeep.cli import main; main()"]

    def run(*args, **kw):
        return subprocess.run(
            [*cli, "users", *args, "--backend-store-uri", db],
            capture_output=True,
            text=True,
            cwd=str(tmp_path),
            timeout=60,
            **kw,
        )

    assert run("create", "ann", "--password", "pw", "--admin").returncode == 0
    assert run("create", "bo", "--password", "pw").returncode == 0
    assert "ann" in run("list").stdout
    dup = run("create", "bo", "--password", "x")
    assert dup.returncode == 1 and "already exists" in dup.stderr and "Traceback" not in dup.stderr
    assert run("grant", "bo", "experiment", "0", "EDIT").returncode == 0
    made = run("token", "create", "bo", "--name", "ci", "--expires-in-days", "2")
    token = made.stdout.strip()
    assert made.returncode == 0 and token.startswith("lkp_")
    with running_server(["--backend-store-uri", db, "--auth"], cwd=str(tmp_path)) as (url, _):
        api = url + "/api/2.0/mlflow"
        headers = {"Authorization": f"Bearer {token}"}
        assert (
            httpx.post(api + "/runs/create", json={"experiment_id": "0"}, headers=headers).status_code == 200
        )
        assert (
            httpx.post(api + "/experiments/delete", json={"experiment_id": "0"}, headers=headers).status_code
            == 403
        )
    token_id = run("token", "list", "bo").stdout.splitlines()[2].split()[0]
    assert run("token", "revoke", "bo", token_id).returncode == 0
    assert run("revoke", "bo", "experiment", "0").returncode == 0
    assert run("set-admin", "bo", "true").returncode == 0
    assert run("delete", "bo", "--yes").returncode == 0
    assert "bo" not in run("list").stdout.split()
