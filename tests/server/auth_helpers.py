"""Helpers for the auth tests: an in-process app with auth on, Basic/Bearer headers, a small world."""

from __future__ import annotations

import base64
import warnings
from contextlib import contextmanager

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from starlette.testclient import TestClient  # noqa: E402

from labkeep.server.app import create_app  # noqa: E402
from labkeep.server.settings import ServerSettings  # noqa: E402

API = "/api/2.0/mlflow"
API3 = "/api/3.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
ADMIN_PW = "admin-pw-1"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = basic("admin", ADMIN_PW)


@contextmanager
def auth_client(monkeypatch, tmp_path, uri: str, **settings):
    """A TestClient on a server with auth on over ``uri`` (the first admin is admin/ADMIN_PW)."""
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", ADMIN_PW)
    s = ServerSettings(
        backend_store_uri=uri,
        artifacts_destination=str(tmp_path / "artifacts"),
        auth_enabled=True,
        **settings,
    )
    app = create_app(s)
    try:
        with TestClient(app, base_url="http://localhost") as client:
            yield client
    finally:
        app.state.ctx.tracking_store.close()


def make_user(client: TestClient, name: str, password: str = "pw") -> dict[str, str]:
    resp = client.post(f"{API}/users/create", json={"username": name, "password": password}, headers=ADMIN)
    assert resp.status_code == 200, resp.text
    return basic(name, password)
