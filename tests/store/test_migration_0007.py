"""Revision 0007_points on every backend: metric points keyed (and on SQLite clustered) by their
primary key, and the partial index of special points, without losing or changing a point."""

from __future__ import annotations

import math
import os

import pytest
from dbs import BACKENDS, temporary_database

from labkeep.entities import Metric
from labkeep.stores.sql import migrate
from labkeep.stores.sql.db import normalize_sqlalchemy_uri, open_database
from labkeep.stores.sql.tracking import SqlTrackingStore

_INSERT = (
    "INSERT INTO metrics (run_id, name, step, ts, value, kind, model_id, dataset_name, dataset_digest)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_POINTS = [
    *[("r1", "loss", i, 100 + i, 1.0 / (i + 1), 0, None, None, None) for i in range(50)],
    ("r1", "loss", 50, 150, 0.0, 1, None, None, None),  # NaN
    ("r1", "loss", 51, 151, 1.7976931348623157e308, 2, None, None, None),  # +inf
    ("r1", "loss", 52, 152, 0.25, 0, None, "eval", "d1"),
    ("r1", "acc", 0, 100, 0.5, 0, None, None, None),
    ("r2", "acc", 0, 100, 0.75, 0, "m-1", None, None),
]


@pytest.fixture(params=BACKENDS)
def old_db_uri(request, tmp_path):
    with temporary_database(request.param, tmp_path, fresh=True) as uri:
        yield uri


def _downgrade(uri: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(os.path.dirname(migrate.__file__), "migrations"))
    engine = create_engine(normalize_sqlalchemy_uri(uri), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, revision)
    finally:
        engine.dispose()


def _fill_0006(uri: str, tmp_path) -> None:
    db = open_database(uri)
    try:
        migrate.upgrade(db, "0006_scorers")
        with db.write() as cur:
            cur.execute(
                "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
                " creation_time, last_update_time) VALUES (0, 'Default', ?, 'active', 1, 1)",
                (str(tmp_path / "a"),),
            )
            for rid in ("r1", "r2"):
                cur.execute(
                    "INSERT INTO runs (run_id, experiment_id, name, user_id, status, start_time,"
                    " artifact_uri, lifecycle_stage) VALUES (?, 0, 'r', 'u', 'RUNNING', 1, ?, 'active')",
                    (rid, str(tmp_path / "a" / rid)),
                )
            cur.executemany(_INSERT, _POINTS)
    finally:
        db.close()


def _stored(uri: str) -> list[tuple]:
    db = open_database(uri)
    try:
        with db.read() as cur:
            rows = cur.execute(
                "SELECT run_id, name, step, ts, value, kind, model_id, dataset_name, dataset_digest FROM metrics"
            ).fetchall()
    finally:
        db.close()
    return sorted(tuple(r) for r in rows)


def _loss(store: SqlTrackingStore) -> list[tuple]:
    return [(m.step, m.timestamp, m.value, m.dataset_name) for m in store.get_metric_history("r1", "loss")]


def test_upgrade_keeps_every_point_and_downgrade_restores_the_old_layout(old_db_uri, tmp_path):
    _fill_0006(old_db_uri, tmp_path)
    before = _stored(old_db_uri)
    assert len(before) == len(_POINTS)

    store = SqlTrackingStore(old_db_uri, str(tmp_path / "a"))  # opening upgrades to the head
    try:
        assert migrate.current_revision(store.db) == migrate.SCHEMA_HEAD
        history = _loss(store)
        assert [h[0] for h in history] == list(range(53))
        assert math.isnan(history[50][2]) and history[51][2] == math.inf and history[52][3] == "eval"
        assert history[:3] == [(0, 100, 1.0, None), (1, 101, 0.5, None), (2, 102, 1.0 / 3, None)]
        plain = store.get_metric_history("r1", "acc")
        assert [(m.step, m.value, m.model_id) for m in plain] == [(0, 0.5, None)]
        # the primary key still makes an identical point one point, plain or special
        store.log_batch("r1", [Metric("loss", 0.5, 101, 1), Metric("loss", math.nan, 150, 50)])
        store.log_metric("r1", Metric("acc", 0.5, 100, 0))
        assert len(store.get_metric_history("r1", "loss")) == 53
        assert len(store.get_metric_history("r1", "acc")) == 1
    finally:
        store.close()
    assert _stored(old_db_uri) == before

    _downgrade(old_db_uri, "0006_scorers")
    assert _stored(old_db_uri) == before
    db = open_database(old_db_uri)
    try:
        with pytest.raises(Exception) as caught:  # the old unique index is back
            with db.write() as cur:
                cur.execute(_INSERT, _POINTS[0])
        assert db.is_integrity_error(caught.value)
    finally:
        db.close()


def _plan(db, sql: str, args: tuple) -> str:
    with db.read() as cur:
        if db.dialect == "sqlite":
            return " | ".join(str(r[3]) for r in cur.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall())
        return " | ".join(str(r[0]) for r in cur.execute("EXPLAIN " + sql, args).fetchall())


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "mysql"])
def test_special_point_check_probes_the_partial_index(backend, tmp_path):
    """A history of plain points asks the partial index, not every point, whether it holds others."""
    from labkeep.stores.sql.metrics import _ANY_SPECIAL_POINT, _ANY_SPECIAL_POINT_SQLITE, _PLAIN_HISTORY

    with temporary_database(backend, tmp_path) as uri:
        store = SqlTrackingStore(uri, str(tmp_path / "a"))
        try:
            run_id = store.create_run("0", "u", 1, [], "r").info.run_id
            for k in range(0, 2000, 1000):
                store.log_batch(run_id, [Metric("loss", float(i), 1 + i, i) for i in range(k, k + 1000)])
            store.log_batch(run_id, [Metric("other", math.nan, 1, 0)])
            db = store.db
            with db.write() as cur:
                if db.dialect == "postgresql":
                    cur.execute("ANALYZE metrics")
            special = _ANY_SPECIAL_POINT_SQLITE if db.dialect == "sqlite" else _ANY_SPECIAL_POINT
            plan = _plan(db, special, (run_id, "loss"))
            assert "ix_metrics_special" in plan, plan
            if db.dialect == "sqlite":  # the history is read in key order (PostgreSQL plans by size)
                history_plan = _plan(db, _PLAIN_HISTORY, (run_id, "loss"))
                assert "USING PRIMARY KEY" in history_plan and "TEMP B-TREE" not in history_plan, history_plan
            assert [m.step for m in store.get_metric_history(run_id, "loss")] == list(range(2000))
            assert math.isnan(store.get_metric_history(run_id, "other")[0].value)
        finally:
            store.close()
