"""Sign-in in a real browser against ``labkeep server --auth`` (a real process): the login page,
the session cookie's flags as Chromium stores them, who is signed in, hidden edit controls for a
reader, and a reader's page write refused without changing anything."""

from __future__ import annotations

import base64

import httpx
import pytest

from .conftest import _clean_env, running_server

pytestmark = pytest.mark.browser

API = "/api/2.0/mlflow"


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("auth-ui")
    env = {**_clean_env(), "LABKEEP_AUTH_ADMIN_USERNAME": "root", "LABKEEP_AUTH_ADMIN_PASSWORD": "root-pw"}
    args = ["server", "--auth", "--backend-store-uri", f"sqlite:///{root}/s.db"]
    with running_server(args, cwd=root, env=env, timeout=60) as url:
        admin = _basic("root", "root-pw")
        with httpx.Client(base_url=url, headers=admin, timeout=30) as c:
            for user in ("alice", "bob"):
                made = c.post(f"{API}/users/create", json={"username": user, "password": f"{user}-pw"})
                assert made.status_code == 200, made.text
            alice = _basic("alice", "alice-pw")
            exp = c.post(f"{API}/experiments/create", json={"name": "alice-exp"}, headers=alice).json()[
                "experiment_id"
            ]
            run = c.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=alice).json()["run"]["info"][
                "run_id"
            ]
        yield url, exp, run


def _sign_in(page, url: str, user: str, password: str, then: str) -> None:
    page.goto(f"{url}{then}")
    assert "/login" in page.url  # not signed in: sent to the login page, coming back afterwards
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("#login-submit")
    page.wait_for_url(f"{url}{then}")


def test_sign_in_shows_the_user_and_hides_what_a_reader_may_not_do(auth_server, page):
    url, exp, run = auth_server
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "wrong")
    page.click("#login-submit")
    assert "Wrong user name or password" in page.content()

    _sign_in(page, url, "alice", "alice-pw", f"/runs/{run}")
    assert page.locator("#whoami").inner_text().strip() == "alice"
    assert page.locator("#tag-form").count() == 1  # the owner may tag her run
    cookie = next(c for c in page.context.cookies() if c["httpOnly"])
    assert cookie["sameSite"] == "Lax" and not cookie["secure"]  # plain http on loopback

    reader = page.context.browser.new_page()
    try:
        _sign_in(reader, url, "bob", "bob-pw", f"/runs/{run}")
        assert reader.locator("#whoami").inner_text().strip() == "bob"
        assert reader.locator("#tag-form").count() == 0  # READ by default: no edit controls
        # a hand-made form post from the page's own origin is still refused for a reader
        status = reader.evaluate(
            """async (run) => {
                const body = new URLSearchParams({action: "set_tag", key: "k", value: "v"});
                const r = await fetch(`/runs/${run}/action`, {method: "POST", body});
                return r.status;
            }""",
            run,
        )
        assert status == 403
    finally:
        reader.close()
    tags = httpx.get(
        f"{url}{API}/runs/get", params={"run_id": run}, headers=_basic("alice", "alice-pw"), timeout=30
    ).json()["run"]["data"].get("tags", [])
    assert not any(t["key"] == "k" for t in tags)
