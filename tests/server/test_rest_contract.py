"""The tracking store contract, run against RestTrackingStore → server app (in process) → SqlTrackingStore.

SQLite only: the SQL backends have their own contract run in tests/store; this run proves the HTTP
layer (encoding, error codes, paging tokens) preserves every behaviour.
"""

from __future__ import annotations

import warnings

import pytest

from tests.store.tracking_contract import *  # noqa: F403

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")


@pytest.fixture
def tracking_store(tmp_path, sqlite_uri):
    from starlette.testclient import TestClient

    from labkeep.server.app import create_app
    from labkeep.server.settings import ServerSettings
    from labkeep.stores.rest.http import HostCreds
    from labkeep.stores.rest.tracking import RestTrackingStore

    app = create_app(
        ServerSettings(backend_store_uri=sqlite_uri, artifacts_destination=str(tmp_path / "art"))
    )
    with TestClient(app, base_url="http://localhost") as client:
        yield RestTrackingStore(HostCreds("http://localhost"), client=client)
    app.state.ctx.tracking_store.close()
