"""Registry test fixtures: one migrated database per backend and module, fresh model names per test."""

from __future__ import annotations

import uuid

import pytest
from dbs import BACKENDS, temporary_database


@pytest.fixture(scope="module", params=BACKENDS)
def registry_db_uri(request, tmp_path_factory):
    """A migrated database shared by a test module (tests use unique model names)."""
    with temporary_database(request.param, tmp_path_factory.mktemp("registry")) as uri:
        yield uri


@pytest.fixture(scope="module")
def artifact_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("artifacts"))


@pytest.fixture(scope="module", params=["sql", "rest"])
def store(request, registry_db_uri, artifact_root):
    """The registry store under test: SqlRegistryStore, or RestRegistryStore -> server app -> SQL.

    The REST variant runs on SQLite only (the server layer does not depend on the backend). Tests
    reach the database behind either through ``store.db``.
    """
    from labkeep.stores.sql.registry import SqlRegistryStore

    if request.param == "sql":
        s = SqlRegistryStore(registry_db_uri, default_artifact_root=artifact_root)
        yield s
        s.close()
        return
    if not registry_db_uri.startswith("sqlite"):
        pytest.skip("the REST registry store is exercised over SQLite only")
    import warnings

    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

    from labkeep.server.app import create_app
    from labkeep.server.settings import ServerSettings
    from labkeep.stores.rest.http import HostCreds
    from labkeep.stores.rest.registry import RestRegistryStore

    app = create_app(ServerSettings(backend_store_uri=registry_db_uri, default_artifact_root=artifact_root))
    with TestClient(app, base_url="http://localhost") as client:
        s = RestRegistryStore(HostCreds("http://localhost"), client=client)
        s.db = app.state.ctx.registry_store.db  # test access to the rows behind the server
        s.is_rest = True
        yield s
    app.state.ctx.tracking_store.close()


@pytest.fixture
def name():
    return "model_" + uuid.uuid4().hex[:10]
