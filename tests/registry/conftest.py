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


@pytest.fixture(scope="module")
def store(registry_db_uri, artifact_root):
    from labkeep.stores.sql.registry import SqlRegistryStore

    s = SqlRegistryStore(registry_db_uri, default_artifact_root=artifact_root)
    yield s
    s.close()


@pytest.fixture
def name():
    return "model_" + uuid.uuid4().hex[:10]
