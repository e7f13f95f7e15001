"""Schema creation and upgrades (Alembic), safe when many processes open a new store at once.

Opening a store whose schema is current costs one query. Otherwise the caller takes a lock
(a file lock beside a SQLite file; an advisory lock on PostgreSQL/MySQL), checks again, and runs
the Alembic upgrade; processes that waited find the schema ready.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from labkeep.stores.sql.db import Database

# The newest migration in migrations/versions. A constant, not Alembic's ScriptDirectory, because
# every store open compares against it and importing Alembic costs ~0.3 s; a test
# (tests/store/test_migrations.py) fails when it differs from Alembic's head.
SCHEMA_HEAD = "0007_points"
_LOCK_ID = 7_264_311  # advisory lock number for schema changes


def current_revision(db: Database) -> str | None:
    try:
        with db.read() as cur:
            row = cur.execute("SELECT version_num FROM alembic_version").fetchone()
    except Exception as exc:  # table missing: a new database
        if "alembic_version" in str(exc) or "no such table" in str(exc) or "doesn't exist" in str(exc):
            return None
        raise
    return row[0] if row else None


def ensure_schema(db: Database, after_upgrade: Callable[[], None] | None = None) -> bool:
    """Create or upgrade the schema unless it is already at ``SCHEMA_HEAD``.

    ``after_upgrade`` runs under the same lock after a migration (e.g. to add the Default
    experiment). Returns True when this call migrated the database.
    """
    if current_revision(db) == SCHEMA_HEAD:
        return False
    with _schema_lock(db):
        if current_revision(db) == SCHEMA_HEAD:
            return False
        upgrade(db)
        if after_upgrade is not None:
            after_upgrade()
        return True


def upgrade(db: Database, revision: str = "head") -> None:
    """Run Alembic migrations up to ``revision`` on ``db``."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from labkeep.stores.sql.db import normalize_sqlalchemy_uri

    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(os.path.dirname(__file__), "migrations"))
    engine = getattr(db, "engine", None) or create_engine(
        normalize_sqlalchemy_uri(db.uri), poolclass=NullPool
    )
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


@contextmanager
def _schema_lock(db: Database) -> Iterator[None]:
    if db.dialect == "sqlite":
        import fcntl

        path = db.path + ".schema-lock"  # type: ignore[attr-defined]
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    raw = db.engine.raw_connection()  # type: ignore[attr-defined]
    try:
        cur = raw.cursor()
        if db.dialect == "postgresql":
            cur.execute(f"SELECT pg_advisory_lock({_LOCK_ID})")
        else:
            deadline = time.monotonic() + 300
            while True:
                cur.execute(f"SELECT GET_LOCK('labkeep_schema_{_LOCK_ID}', 10)")
                if cur.fetchone()[0] == 1:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError("Timed out waiting for the schema lock")
        raw.commit()
        try:
            yield
        finally:
            if db.dialect == "postgresql":
                cur.execute(f"SELECT pg_advisory_unlock({_LOCK_ID})")
            else:
                cur.execute(f"SELECT RELEASE_LOCK('labkeep_schema_{_LOCK_ID}')")
            raw.commit()
    finally:
        raw.close()
