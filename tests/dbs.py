"""Throw-away databases on the three SQL backends the store supports.

PostgreSQL (127.0.0.1:5432, user postgres, trust auth) and MariaDB (127.0.0.1:3306, root, no
password) run on these machines; ``.ci/run`` starts them when they are down. Each test gets a
database of its own, dropped afterwards. Set LABKEEP_TEST_BACKENDS=sqlite to skip the servers
locally (CI always runs all three).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MYSQL_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/"

BACKENDS = [b for b in os.environ.get("LABKEEP_TEST_BACKENDS", "sqlite,postgresql,mysql").split(",") if b]


@contextmanager
def temporary_database(backend: str, tmp_path) -> Iterator[str]:
    """Yield the URI of a new, empty database on ``backend``; drop it afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
        return
    from sqlalchemy import create_engine, text

    name = "lk_" + uuid.uuid4().hex[:16]
    if backend == "postgresql":
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        uri = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        create, drop = f'CREATE DATABASE "{name}"', f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    elif backend == "mysql":
        admin = create_engine(MYSQL_ADMIN, isolation_level="AUTOCOMMIT")
        uri = f"mysql+pymysql://root@127.0.0.1:3306/{name}"
        create = f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        drop = f"DROP DATABASE IF EXISTS `{name}`"
    else:
        raise ValueError(backend)
    with admin.connect() as conn:
        conn.execute(text(create))
    try:
        yield uri
    finally:
        with admin.connect() as conn:
            conn.execute(text(drop))
        admin.dispose()
