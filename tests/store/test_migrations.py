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


def _migrate_sqlite(uri: str, revision: str, down: bool = False) -> None:
    db = open_database(uri)
    try:
        if not down:
            migrate.upgrade(db, revision)
            return
        from alembic import command
        from alembic.config import Config
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        cfg = Config()
        cfg.set_main_option("script_location", os.path.join(os.path.dirname(migrate.__file__), "migrations"))
        engine = create_engine(uri, poolclass=NullPool)
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, revision)
        engine.dispose()
    finally:
        db.close()


def _fill(path: str) -> None:
    """300 runs with params, tags and latest metrics (NaN, +inf and missing values among them)."""
    import random
    import sqlite3

    rng = random.Random(5)
    con = sqlite3.connect(path)
    runs, params, tags, metrics = [], [], [], []
    for i in range(300):
        rid = f"{rng.getrandbits(128):032x}"
        runs.append((rid, f"r{i}", 1000 + i % 7))
        params += [(rid, "p0", rng.choice("abcd")), (rid, "p1", str(i))]
        tags.append((rid, "team", rng.choice(["x", "y"])))
        metrics.append((rid, "m0", rng.random(), 0))
        if i % 10 == 0:
            metrics.append((rid, "m1", 0.0, 1))  # NaN
        elif i % 10 == 1:
            metrics.append((rid, "m1", 0.0, 2))  # +inf
        elif i % 10 != 2:  # every tenth run has no m1
            metrics.append((rid, "m1", round(rng.random(), 2), 0))  # ties broken by start time, id
    runs = [(rid, name, start, "u", "FINISHED", "x", "active", 0) for rid, name, start in runs]
    metrics = [(*m[:2], 0, 0, *m[2:]) for m in metrics]
    for table, cols, rows in (
        ("runs", "run_id, name, start_time, user_id, status, artifact_uri, lifecycle_stage, experiment_id", runs),
        ("params", "run_id, name, value", params),
        ("tags", "run_id, name, value", tags),
        ("latest_metrics", "run_id, name, step, ts, value, kind", metrics),
    ):
        con.executemany(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(rows[0]))})", rows)
    con.execute("ANALYZE")
    con.commit()
    con.close()


_SEARCHES = [
    ("metrics.m0 > 0.5 and params.p0 = 'a'", ["metrics.m1 DESC"]),
    ("tags.team = 'x'", ["metrics.m1 ASC"]),
    ("", ["params.p1 DESC"]),
]


def _snapshot(path: str) -> tuple[dict, list]:
    import sqlite3

    from labkeep import search

    con = sqlite3.connect(path)
    con.execute("PRAGMA case_sensitive_like = ON")
    rows = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall()) for t in ("params", "tags", "latest_metrics")}
    pages = []
    for flt, order in _SEARCHES:
        for offset in (0, 40):
            sql, args = search.build_runs_query(["0"], ("active",), flt, order, 40, offset, "sqlite")
            pages.append([r[0] for r in con.execute(sql, args).fetchall()])
    con.close()
    return rows, pages


def _table_sql(path: str) -> dict[str, str]:
    import sqlite3

    con = sqlite3.connect(path)
    try:
        return dict(con.execute("SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall())
    finally:
        con.close()


def test_0005_search_clusters_run_key_value_tables_keeps_rows_and_answers_and_downgrades(tmp_path):
    import sqlite3

    from labkeep import search

    path = str(tmp_path / "store.db")
    uri = f"sqlite:///{path}"
    _migrate_sqlite(uri, "0004_compat")
    _fill(path)
    rows, pages = _snapshot(path)
    assert all(pages[::2]) and any(len(p) == 40 for p in pages[1::2])  # first pages, a full second page

    _migrate_sqlite(uri, "head")
    ddl = _table_sql(path)
    for table in ("params", "tags", "latest_metrics"):
        assert ddl[table].rstrip().endswith("WITHOUT ROWID"), ddl[table]
    assert "ix_latest_metrics_name_value" not in ddl and "ix_latest_metrics_name_value_kind" in ddl
    assert {"ix_params_name_run", "ix_tags_name_run", "ix_latest_metrics_name_run", "ix_tags_name_value"} <= set(ddl)
    assert _snapshot(path) == (rows, pages)
    # The walk reads the new index alone and probes each run's metric and param by primary key.
    con = sqlite3.connect(path)
    analyzed = {r[0] for r in con.execute("SELECT idx FROM sqlite_stat1 WHERE tbl = 'latest_metrics'")}
    assert "ix_latest_metrics_name_value_kind" in analyzed  # statistics re-gathered (they existed)
    sql, args = search.build_runs_query(["0"], ("active",), *_SEARCHES[0], 100, 0, "sqlite")
    plan = " | ".join(r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql, args))
    con.close()
    assert "COVERING INDEX ix_latest_metrics_name_value_kind" in plan, plan
    assert "SEARCH lm1 USING PRIMARY KEY" in plan and "SEARCH kv2 USING PRIMARY KEY" in plan, plan

    _migrate_sqlite(uri, "0004_compat", down=True)
    ddl = _table_sql(path)
    for table in ("params", "tags", "latest_metrics"):
        assert "WITHOUT ROWID" not in ddl[table]
    assert "ix_latest_metrics_name_value" in ddl and "ix_latest_metrics_name_value_kind" not in ddl
    assert _snapshot(path) == (rows, pages)


def test_a_new_store_gets_the_clustered_tables_and_works(sqlite_uri, tmp_path):
    from labkeep.entities import Metric, Param, RunTag
    from labkeep.stores.sql.tracking import SqlTrackingStore

    store = SqlTrackingStore(sqlite_uri, str(tmp_path / "artifacts"))
    try:
        run = store.create_run("0", "u", 1, [], "r")
        rid = run.info.run_id
        store.log_batch(rid, [Metric("m", 0.5, 1, 0), Metric("m", 0.7, 2, 1)], [Param("p", "a")], [RunTag("t", "x")])
        store.log_batch(rid, [Metric("m", 0.7, 2, 1)], [Param("p", "a")], [RunTag("t", "y")])  # repeats are fine
        got = store.search_runs(["0"], "metrics.m > 0.6 and params.p = 'a' and tags.t = 'y'", order_by=["metrics.m"])
        assert [r.info.run_id for r in got] == [rid]
        assert got[0].data.metrics == {"m": 0.7} and got[0].data.tags["t"] == "y"
    finally:
        store.close()
    assert _table_sql(sqlite_uri[len("sqlite:///") :])["latest_metrics"].rstrip().endswith("WITHOUT ROWID")
