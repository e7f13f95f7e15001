"""The UI with auth on: login page and session cookie, who is signed in, hidden edit controls,
and page writes refused for readers (in-process app; a browser test would add nothing the
forms/cookies checked here do not)."""

from __future__ import annotations

import pytest

from .auth_helpers import API, auth_client, make_user

SAME = {"Origin": "http://localhost"}


@pytest.fixture
def client(monkeypatch, tmp_path, sqlite_uri):
    with auth_client(monkeypatch, tmp_path, sqlite_uri) as c:
        yield c


def login(c, user: str, password: str = "pw"):
    r = c.post("/login", data={"username": user, "password": password, "next": "/models"}, headers=SAME,
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:200]
    return r


def test_login_sets_a_safe_session_cookie_and_logout_ends_it(client):
    alice = make_user(client, "alice")
    assert client.get("/models", follow_redirects=False).headers["location"].startswith("/login?next=")
    bad = client.post("/login", data={"username": "alice", "password": "nope"}, headers=SAME)
    assert bad.status_code == 401 and "Wrong user name or password" in bad.text
    r = login(client, "alice")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert r.headers["location"] == "/models"
    page = client.get("/models")
    assert page.status_code == 200 and 'id="whoami"' in page.text and ">alice<" in page.text
    # behind a TLS-terminating proxy the cookie is Secure
    r = client.post("/login", data={"username": "alice", "password": "pw"},
                    headers={**SAME, "X-Forwarded-Proto": "https"}, follow_redirects=False)  # fmt: skip
    assert "secure" in r.headers["set-cookie"].lower()
    # an open redirect after sign-in is refused
    r = client.post("/login", data={"username": "alice", "password": "pw", "next": "//evil.example/x"},
                    headers=SAME, follow_redirects=False)  # fmt: skip
    assert r.headers["location"] == "/"
    client.post("/logout", headers=SAME)
    assert client.get("/models", follow_redirects=False).status_code == 303
    assert alice  # Basic still works for the API after the browser signed out
    assert client.get(f"{API}/users/current", headers=alice).status_code == 200


def test_login_form_from_another_site_is_refused(client):
    r = client.post(
        "/login", data={"username": "admin", "password": "x"}, headers={"Origin": "http://evil.example"}
    )
    assert r.status_code == 403


def test_readers_see_no_edit_controls_and_cannot_post_edits(client):
    alice, bob = make_user(client, "alice"), make_user(client, "bob")
    exp = client.post(f"{API}/experiments/create", json={"name": "ui-exp"}, headers=alice).json()[
        "experiment_id"
    ]
    run = client.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=alice).json()["run"]["info"][
        "run_id"
    ]
    client.post(f"{API}/registered-models/create", json={"name": "ui-model"}, headers=alice)

    login(client, "alice")
    assert 'id="tag-form"' in client.get(f"/runs/{run}").text
    assert "Edit description" in client.get("/models/ui-model").text
    client.post("/logout", headers=SAME)

    login(client, "bob")
    run_page = client.get(f"/runs/{run}")
    assert run_page.status_code == 200 and 'id="tag-form"' not in run_page.text
    assert "Edit description" not in client.get("/models/ui-model").text
    listing = client.get("/").text
    assert "ui-exp" in listing and "read only" in listing
    r = client.post(f"/runs/{run}/action", data={"action": "set_tag", "key": "k", "value": "v"}, headers=SAME)
    assert r.status_code == 403
    r = client.post("/experiments/action", data={"action": "delete", "experiment_id": exp}, headers=SAME)
    assert r.status_code == 403
    got = client.get(f"{API}/experiments/get", params={"experiment_id": exp}, headers=alice).json()
    assert got["experiment"]["lifecycle_stage"] == "active"
    # a page-created experiment belongs to its creator
    client.post("/experiments/action", data={"action": "create", "name": "bobs-exp"}, headers=SAME)
    mine = client.get(
        f"{API}/experiments/get-by-name", params={"experiment_name": "bobs-exp"}, headers=bob
    ).json()
    perm = client.get(
        "/api/3.0/mlflow/users/permissions/get",
        params={
            "username": "bob",
            "resource_type": "experiment",
            "resource_id": mine["experiment"]["experiment_id"],
        },
        headers=bob,
    ).json()
    assert perm["permission"] == "MANAGE"


def test_account_page_creates_and_revokes_tokens(client):
    make_user(client, "carol")
    login(client, "carol")
    page = client.post("/account/tokens", data={"action": "create", "name": "laptop", "expires_in_days": "30"},
                       headers=SAME)  # fmt: skip
    assert page.status_code == 200 and 'id="new-token"' in page.text
    token = page.text.split('id="new-token">', 1)[1].split("<", 1)[0]
    assert client.get(f"{API}/users/current", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = client.get("/account", headers={"Accept": "application/json"}).json()["tokens"]
    assert [t["name"] for t in listed] == ["laptop"]
    client.post("/account/tokens", data={"action": "revoke", "token_id": listed[0]["token_id"]}, headers=SAME)
    assert client.get(f"{API}/users/current", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    bad = client.post(
        "/account/tokens", data={"action": "create", "name": "x", "expires_in_days": "abc"}, headers=SAME
    )
    assert bad.status_code == 400


def test_admin_manages_users_and_grants_in_the_ui(client):
    alice = make_user(client, "alice")
    exp = client.post(f"{API}/experiments/create", json={"name": "adm"}, headers=alice).json()[
        "experiment_id"
    ]
    login(client, "alice")
    assert client.get("/admin/users").status_code == 403  # not an admin
    client.post("/logout", headers=SAME)
    login(client, "admin", "admin-pw-1")
    assert 'id="admin-users"' in client.get("/models").text
    r = client.post(
        "/admin/users", data={"action": "create", "username": "dave", "password": "pw"}, headers=SAME
    )
    assert r.status_code == 200 and 'data-user="dave"' in r.text
    grant = {
        "action": "grant",
        "username": "dave",
        "resource_type": "experiment",
        "resource_id": exp,
        "permission": "EDIT",
    }
    assert "EDIT on experiment" in client.post("/admin/users", data=grant, headers=SAME).text
    dave = {"Authorization": "Basic ZGF2ZTpwdw=="}  # dave:pw
    assert client.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=dave).status_code == 200
    revoke = {"action": "revoke", "username": "dave", "resource_type": "experiment", "resource_id": exp}
    client.post("/admin/users", data=revoke, headers=SAME)
    assert client.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=dave).status_code == 403
    self_delete = client.post("/admin/users", data={"action": "delete", "username": "admin"}, headers=SAME)
    assert self_delete.status_code == 400
    client.post("/admin/users", data={"action": "delete", "username": "dave"}, headers=SAME)
    assert 'data-user="dave"' not in client.get("/admin/users").text
