"""Fixtures: an in-process server app over a SQL store, and clients talking to it without sockets."""

from __future__ import annotations

import warnings

import pytest

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from starlette.testclient import TestClient  # noqa: E402

from labkeep.server.app import create_app  # noqa: E402
from labkeep.server.settings import ServerSettings  # noqa: E402


@pytest.fixture
def server_settings(tmp_path, sqlite_uri):
    return ServerSettings(backend_store_uri=sqlite_uri, artifacts_destination=str(tmp_path / "artifacts"))


@pytest.fixture
def app(server_settings):
    app = create_app(server_settings)
    yield app
    app.state.ctx.tracking_store.close()


@pytest.fixture
def client(app):
    with TestClient(app, base_url="http://localhost") as c:
        yield c


@pytest.fixture
def rest_store(client):
    from labkeep.stores.rest.http import HostCreds
    from labkeep.stores.rest.tracking import RestTrackingStore

    return RestTrackingStore(HostCreds("http://localhost"), client=client)
