"""Authentication and per-resource permissions on SQLite, PostgreSQL and MariaDB (in-process app)."""

from __future__ import annotations

import pytest

from .auth_helpers import ADMIN, API, API3, PROXY, auth_client, basic, bearer, make_user


@pytest.fixture
def client(monkeypatch, tmp_path, db_uri):
    with auth_client(monkeypatch, tmp_path, db_uri) as c:
        yield c


def test_no_credentials_bad_credentials_and_public_routes(client):
    assert client.get("/health").status_code == 200
    assert client.get("/version").status_code == 200
    assert client.get(f"{API3}/server-info").status_code == 200
    r = client.get(f"{API}/experiments/get", params={"experiment_id": "0"})
    assert r.status_code == 401 and r.json()["error_code"] == "UNAUTHENTICATED"
    assert r.headers["www-authenticate"].startswith("Basic")
    r = client.get(f"{API}/experiments/get", params={"experiment_id": "0"}, headers=basic("admin", "wrong"))
    assert r.status_code == 401
    r = client.get(f"{API}/experiments/get", params={"experiment_id": "0"}, headers=bearer("lkp_nope"))
    assert r.status_code == 401
    assert (
        client.get(f"{API}/experiments/get", params={"experiment_id": "0"}, headers=ADMIN).status_code == 200
    )


def test_creator_gets_manage_others_read_by_default(client):
    alice, mallory = make_user(client, "alice"), make_user(client, "mallory")
    exp = client.post(f"{API}/experiments/create", json={"name": "a-exp"}, headers=alice).json()[
        "experiment_id"
    ]
    # mallory reads (default READ) but may not delete, rename or log into alice's experiment
    assert (
        client.get(f"{API}/experiments/get", params={"experiment_id": exp}, headers=mallory).status_code
        == 200
    )
    r = client.post(f"{API}/experiments/delete", json={"experiment_id": exp}, headers=mallory)
    assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"
    assert "mallory" in r.json()["message"]
    assert client.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=mallory).status_code == 403
    run = client.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=alice).json()["run"]["info"]
    metric = {"run_id": run["run_id"], "key": "m", "value": 1.0, "timestamp": 1, "step": 0}
    assert client.post(f"{API}/runs/log-metric", json=metric, headers=mallory).status_code == 403
    assert client.post(f"{API}/runs/log-metric", json=metric, headers=alice).status_code == 200
    put = client.put(f"{PROXY}/{exp}/{run['run_id']}/artifacts/x.txt", content=b"x", headers=mallory)
    assert put.status_code == 403
    assert (
        client.put(f"{PROXY}/{exp}/{run['run_id']}/artifacts/x.txt", content=b"x", headers=alice).status_code
        == 200
    )
    assert client.get(f"{PROXY}/{exp}/{run['run_id']}/artifacts/x.txt", headers=mallory).content == b"x"
    # still there: nothing mallory tried changed anything
    assert (
        client.get(f"{API}/experiments/get", params={"experiment_id": exp}, headers=alice).json()[
            "experiment"
        ]["lifecycle_stage"]
        == "active"
    )
    assert (
        client.post(f"{API}/experiments/delete", json={"experiment_id": exp}, headers=alice).status_code
        == 200
    )


def test_grants_no_permissions_and_search_filtering(client):
    alice, bob = make_user(client, "alice"), make_user(client, "bob")
    exp = client.post(f"{API}/experiments/create", json={"name": "secret"}, headers=alice).json()[
        "experiment_id"
    ]
    client.post(f"{API}/registered-models/create", json={"name": "m1"}, headers=alice)
    deny = {
        "username": "bob",
        "resource_type": "experiment",
        "resource_id": exp,
        "permission": "NO_PERMISSIONS",
    }
    # bob can't grant on alice's experiment; alice (MANAGE) can
    assert client.post(f"{API3}/users/permissions/grant", json=deny, headers=bob).status_code == 403
    assert client.post(f"{API3}/users/permissions/grant", json=deny, headers=alice).status_code == 200
    assert client.get(f"{API}/experiments/get", params={"experiment_id": exp}, headers=bob).status_code == 403
    found = client.post(f"{API}/experiments/search", json={"max_results": 100}, headers=bob).json()
    assert exp not in [e["experiment_id"] for e in found.get("experiments", [])]
    assert client.post(f"{API}/runs/search", json={"experiment_ids": [exp]}, headers=bob).status_code == 403
    model_deny = {**deny, "resource_type": "registered_model", "resource_id": "m1"}
    assert client.post(f"{API3}/users/permissions/grant", json=model_deny, headers=alice).status_code == 200
    models = client.get(f"{API}/registered-models/search", headers=bob).json().get("registered_models", [])
    assert "m1" not in [m["name"] for m in models]
    assert client.get(f"{API}/model-versions/search", headers=bob).json().get("model_versions", []) == []
    got = client.get(
        f"{API3}/users/permissions/get",
        params={"username": "bob", "resource_type": "experiment", "resource_id": exp},
        headers=ADMIN,
    ).json()
    assert got == {"allowed": False, "permission": "NO_PERMISSIONS"}
    # EDIT lets bob log; revoking falls back to the default (READ)
    edit = {**deny, "permission": "EDIT"}
    assert client.post(f"{API3}/users/permissions/grant", json=edit, headers=alice).status_code == 200
    assert client.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=bob).status_code == 200
    assert (
        client.post(f"{API}/experiments/delete", json={"experiment_id": exp}, headers=bob).status_code == 403
    )
    revoke = {"username": "bob", "resource_type": "experiment", "resource_id": exp}
    assert client.post(f"{API3}/users/permissions/revoke", json=revoke, headers=alice).status_code == 200
    assert client.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=bob).status_code == 403
    assert client.get(f"{API}/experiments/get", params={"experiment_id": exp}, headers=bob).status_code == 200


def test_roles_group_permissions(client):
    make_user(client, "carol")
    carol = basic("carol", "pw")
    exp = client.post(f"{API}/experiments/create", json={"name": "team"}, headers=ADMIN).json()[
        "experiment_id"
    ]
    assert client.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=carol).status_code == 403
    role = client.post(
        f"{API3}/roles/create", json={"workspace": "default", "name": "ml"}, headers=ADMIN
    ).json()
    rid = role["role"]["id"]
    rp = client.post(
        f"{API3}/roles/permissions/add",
        json={"role_id": rid, "resource_type": "experiment", "resource_pattern": "*", "permission": "EDIT"},
        headers=ADMIN,
    )
    assert rp.status_code == 200 and rp.json()["role_permission"]["permission"] == "EDIT"
    assert client.post(f"{API3}/roles/create", json={"name": "x"}, headers=carol).status_code == 403
    assert (
        client.post(
            f"{API3}/roles/assign", json={"username": "carol", "role_id": rid}, headers=ADMIN
        ).status_code
        == 200
    )
    assert client.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=carol).status_code == 200
    roles = client.get(f"{API3}/users/roles/list", params={"username": "carol"}, headers=carol).json()[
        "roles"
    ]
    assert [r["name"] for r in roles] == ["ml"]
    client.request(
        "DELETE", f"{API3}/roles/unassign", json={"username": "carol", "role_id": rid}, headers=ADMIN
    )
    assert client.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=carol).status_code == 403


def test_users_api_admin_only_and_self_service(client):
    alice = make_user(client, "alice", "old")
    assert (
        client.post(f"{API}/users/create", json={"username": "x", "password": "y"}, headers=alice).status_code
        == 403
    )
    assert client.get(f"{API}/users/list", headers=alice).status_code == 403
    assert client.get(f"{API}/users/get", params={"username": "admin"}, headers=alice).status_code == 403
    me = client.get(f"{API}/users/current", headers=alice).json()["user"]
    assert me["username"] == "alice" and me["is_admin"] is False
    dup = client.post(f"{API}/users/create", json={"username": "alice", "password": "z"}, headers=ADMIN)
    assert dup.status_code == 400 and dup.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    empty = client.post(f"{API}/users/create", json={"username": "e", "password": ""}, headers=ADMIN)
    assert empty.status_code == 400
    # self-service password change needs the current password
    body = {"username": "alice", "password": "new"}
    assert client.patch(f"{API}/users/update-password", json=body, headers=alice).status_code == 403
    ok = client.patch(f"{API}/users/update-password", json={**body, "current_password": "old"}, headers=alice)
    assert ok.status_code == 200
    assert client.get(f"{API}/users/current", headers=alice).status_code == 401
    alice = basic("alice", "new")
    assert client.get(f"{API}/users/current", headers=alice).status_code == 200
    client.patch(f"{API}/users/update-admin", json={"username": "alice", "is_admin": True}, headers=ADMIN)
    assert client.get(f"{API}/users/list", headers=alice).status_code == 200
    assert (
        client.request("DELETE", f"{API}/users/delete", json={"username": "alice"}, headers=ADMIN).status_code
        == 200
    )
    assert client.get(f"{API}/users/current", headers=alice).status_code == 401


def test_tokens_created_listed_revoked_and_expiring(client):
    alice = make_user(client, "alice")
    made = client.post("/api/2.0/labkeep/tokens/create", json={"name": "ci"}, headers=alice).json()
    token = made["token"]
    assert token.startswith("lkp_")
    assert client.get(f"{API}/users/current", headers=bearer(token)).json()["user"]["username"] == "alice"
    listed = client.get("/api/2.0/labkeep/tokens/list", headers=alice).json()["tokens"]
    assert [t["name"] for t in listed] == ["ci"] and "token" not in listed[0]
    revoke = {"token_id": made["token_info"]["token_id"]}
    assert client.post("/api/2.0/labkeep/tokens/revoke", json=revoke, headers=alice).status_code == 200
    assert client.get(f"{API}/users/current", headers=bearer(token)).status_code == 401
    bad = client.post(
        "/api/2.0/labkeep/tokens/create", json={"name": "x", "expires_in_days": 0}, headers=alice
    )
    assert bad.status_code == 400
    # the stored row holds a hash only
    ctx = client.app.state.ctx
    with ctx.tracking_store.db.read() as cur:
        hashes = [r[0] for r in cur.execute("SELECT token_hash FROM auth_tokens").fetchall()]
        pw = cur.execute("SELECT password_hash FROM auth_users WHERE username = 'alice'").fetchone()[0]
    assert token not in hashes and pw.startswith("$argon2id$")


def test_expired_token_is_refused(client):
    ctx = client.app.state.ctx
    svc = ctx.extras["auth"]
    make_user(client, "alice")
    secret, _ = svc.store.create_token(svc.store.get_user("alice"), "old", expires_at=1)
    assert client.get(f"{API}/users/current", headers=bearer(secret)).status_code == 401


def test_history_records_the_authenticated_user_not_a_header(client):
    alice = make_user(client, "alice")
    client.post(f"{API}/registered-models/create", json={"name": "hm"}, headers=alice)
    exp = client.post(f"{API}/experiments/create", json={"name": "h"}, headers=alice).json()["experiment_id"]
    run = client.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=alice).json()["run"]["info"]
    mv = {"name": "hm", "source": f"runs:/{run['run_id']}/model", "run_id": run["run_id"]}
    assert client.post(f"{API}/model-versions/create", json=mv, headers=alice).status_code == 200
    r = client.post(
        f"{API}/model-versions/transition-stage",
        json={"name": "hm", "version": "1", "stage": "Staging"},
        headers={**alice, "X-Labkeep-User": "ceo"},
    )
    assert r.status_code == 200
    events = client.get(
        "/api/2.0/labkeep/registered-models/history", params={"name": "hm"}, headers=alice
    ).json()
    users = {e.get("user_id") or e.get("user") for e in events["events"]}
    assert users == {"alice"}, events


def test_model_version_source_must_be_readable(client):
    alice, bob = make_user(client, "alice"), make_user(client, "bob")
    exp = client.post(f"{API}/experiments/create", json={"name": "private"}, headers=alice).json()[
        "experiment_id"
    ]
    deny = {
        "username": "bob",
        "resource_type": "experiment",
        "resource_id": exp,
        "permission": "NO_PERMISSIONS",
    }
    client.post(f"{API3}/users/permissions/grant", json=deny, headers=alice)
    client.post(f"{API}/registered-models/create", json={"name": "bobs"}, headers=bob)
    steal = {"name": "bobs", "source": f"mlflow-artifacts:/{exp}/abc/artifacts/model"}
    assert client.post(f"{API}/model-versions/create", json=steal, headers=bob).status_code == 403
    # and a new experiment may not point its artifacts at another one's folder
    where = {"name": "mine", "artifact_location": f"mlflow-artifacts:/{exp}"}
    assert client.post(f"{API}/experiments/create", json=where, headers=bob).status_code == 403


def test_default_permission_no_permissions(monkeypatch, tmp_path, sqlite_uri):
    with auth_client(monkeypatch, tmp_path, sqlite_uri, auth_default_permission="NO_PERMISSIONS") as c:
        alice, bob = make_user(c, "alice"), make_user(c, "bob")
        exp = c.post(f"{API}/experiments/create", json={"name": "e"}, headers=alice).json()["experiment_id"]
        assert (
            c.get(f"{API}/experiments/get", params={"experiment_id": exp}, headers=alice).status_code == 200
        )
        assert c.get(f"{API}/experiments/get", params={"experiment_id": exp}, headers=bob).status_code == 403
        assert c.post(f"{API}/experiments/search", json={}, headers=bob).json().get("experiments", []) == []


def test_trusted_proxy_header_only_from_trusted_addresses(monkeypatch, tmp_path, sqlite_uri):
    # TestClient connects from "testclient"; an address outside the trusted network is ignored.
    with auth_client(
        monkeypatch,
        tmp_path,
        sqlite_uri,
        auth_trusted_header="X-Forwarded-User",
        auth_trusted_proxies=["10.0.0.0/8"],
    ) as c:
        r = c.get(f"{API}/users/current", headers={"X-Forwarded-User": "admin"})
        assert r.status_code == 401
    with auth_client(
        monkeypatch,
        tmp_path,
        sqlite_uri,
        auth_trusted_header="X-Forwarded-User",
        auth_trusted_proxies=["0.0.0.0/0"],
    ) as c:
        svc = c.app.state.ctx.extras["auth"]
        scope = {"headers": [(b"x-forwarded-user", b"sso-dana")], "client": ("127.0.0.1", 5)}
        assert svc.authenticate(scope).username == "sso-dana"
        scope["client"] = ("not-an-ip", 5)
        assert svc.authenticate(scope) is None
