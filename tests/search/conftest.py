"""Fixtures for the search tests: one real database per backend per test module.

Schema creation is the slow part on PostgreSQL/MariaDB, so each module shares one database (per
backend) and inserts its rows once; the tests only read.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from dbs import BACKENDS, temporary_database

from labkeep.stores.sql.db import open_database
from labkeep.stores.sql.migrate import ensure_schema


@contextmanager
def fresh_db(backend: str, tmp_path_factory):
    with temporary_database(backend, tmp_path_factory.mktemp(f"search-{backend}")) as uri:
        db = open_database(uri)
        ensure_schema(db)
        try:
            yield db
        finally:
            db.close()


@pytest.fixture(scope="module", params=BACKENDS)
def backend_db(request, tmp_path_factory):
    """A migrated, empty database shared by one test module (per backend)."""
    with fresh_db(request.param, tmp_path_factory) as db:
        yield db
