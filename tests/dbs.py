"""Throw-away databases on the three SQL backends the store supports.

PostgreSQL (127.0.0.1:5432, user postgres, trust auth) and MariaDB (127.0.0.1:3306, root, no
password) run on these machines; ``.ci/run`` starts them when they are down. Each test gets a
database of its own with no rows in it. Creating and migrating a database costs about a second on
MariaDB, so used databases are emptied (every table but ``alembic_version``) and handed to the
next test; the pool is dropped when the test session ends. ``fresh=True`` gives a brand-new
database without any schema. Set LABKEEP_TEST_BACKENDS=sqlite to skip the servers locally (CI
always runs all three).
"""

from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MYSQL_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/"

BACKENDS = [b for b in os.environ.get("LABKEEP_TEST_BACKENDS", "sqlite,postgresql,mysql").split(",") if b]

_pool: dict[str, list[str]] = {"postgresql": [], "mysql": []}
_created: dict[str, list[str]] = {"postgresql": [], "mysql": []}
_admins: dict[str, object] = {}


def _admin(backend: str):
    from sqlalchemy import create_engine

    if backend not in _admins:
        url = PG_ADMIN if backend == "postgresql" else MYSQL_ADMIN
        _admins[backend] = create_engine(url, isolation_level="AUTOCOMMIT")
    return _admins[backend]


def _new_database(backend: str) -> str:
    from sqlalchemy import text

    name = "lk_" + uuid.uuid4().hex[:16]
    if backend == "postgresql":
        create = f'CREATE DATABASE "{name}"'
        uri = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    elif backend == "mysql":
        create = f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        uri = f"mysql+pymysql://root@127.0.0.1:3306/{name}"
    else:
        raise ValueError(backend)
    with _admin(backend).connect() as conn:
        conn.execute(text(create))
    _created[backend].append(name)
    return uri


def _empty(backend: str, uri: str) -> bool:
    """Delete every row (the schema stays); False when the database is unusable for reuse."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(uri, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            if backend == "postgresql":
                tables = [
                    r[0]
                    for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
                ]
            else:
                tables = [r[0] for r in conn.execute(text("SHOW TABLES"))]
            if "alembic_version" not in tables:
                return False
            for table in tables:
                if table != "alembic_version":
                    conn.execute(text(f"DELETE FROM {table}"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


@contextmanager
def temporary_database(backend: str, tmp_path, fresh: bool = False) -> Iterator[str]:
    """Yield the URI of an empty database on ``backend`` (no rows; schema unless ``fresh``)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/store-{uuid.uuid4().hex[:8]}.db"
        return
    uri = _pool[backend].pop() if (_pool[backend] and not fresh) else _new_database(backend)
    try:
        yield uri
    finally:
        _release_connections()
        if _empty(backend, uri):
            _pool[backend].append(uri)


def _release_connections() -> None:
    from labkeep.stores import clear_store_cache

    clear_store_cache()


@atexit.register
def _drop_all() -> None:
    if not any(_created.values()):
        return
    from sqlalchemy import text

    for backend, names in _created.items():
        for name in names:
            drop = (
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                if backend == "postgresql"
                else f"DROP DATABASE IF EXISTS `{name}`"
            )
            try:
                with _admin(backend).connect() as conn:
                    conn.execute(text(drop))
            except Exception:
                pass
    for engine in _admins.values():
        engine.dispose()
