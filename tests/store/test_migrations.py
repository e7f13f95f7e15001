"""The schema revision labkeep checks at every open is Alembic's head, and the error paths of the
database adapter use the drivers' own exception classes on every backend."""

import os

import pytest

from labkeep.stores.sql import migrate
from labkeep.stores.sql.db import open_database

_INSERT = (
    "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
    "last_update_time) VALUES (?, ?, ?, ?, ?, ?)"
)


def test_schema_head_constant_is_alembics_head():
    from alembic.script import ScriptDirectory

    versions = ScriptDirectory(os.path.join(os.path.dirname(migrate.__file__), "migrations"))
    assert versions.get_heads() == [migrate.SCHEMA_HEAD], "bump SCHEMA_HEAD in labkeep/stores/sql/migrate.py"


def test_new_database_is_at_head_and_duplicate_keys_are_integrity_errors(db_uri):
    from labkeep.stores.sql.tracking import SqlTrackingStore

    SqlTrackingStore(db_uri, "unused").close()  # creates the schema
    db = open_database(db_uri)
    try:
        assert migrate.current_revision(db) == migrate.SCHEMA_HEAD
        with db.write() as cur:
            cur.execute(_INSERT, (424242, "dup", "a", "active", 0, 0))
        with pytest.raises(Exception) as caught:
            with db.write() as cur:
                cur.execute(_INSERT, (424242, "dup2", "a", "active", 0, 0))
        assert db.is_integrity_error(caught.value)
        assert not db.is_integrity_error(ValueError("IntegrityError"))
        with db.read() as cur:  # the failed write left the first row as it was
            assert list(
                cur.execute("SELECT name FROM experiments WHERE experiment_id = ?", (424242,)).fetchall()
            ) == [("dup",)]
    finally:
        db.close()
