"""Revision 0003_compat on every backend: duplicate metric points from older versions are merged,
model links move to ``model_metrics``, and the unique index keeps points unique afterwards."""

from __future__ import annotations

import pytest
from dbs import BACKENDS, temporary_database

from labkeep.entities import Metric
from labkeep.stores.sql.db import open_database
from labkeep.stores.sql.migrate import SCHEMA_HEAD, current_revision, upgrade
from labkeep.stores.sql.tracking import SqlTrackingStore

_INSERT = (
    "INSERT INTO metrics (run_id, name, step, ts, value, kind, model_id, dataset_name, dataset_digest)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)"
)


@pytest.fixture(params=BACKENDS)
def old_db_uri(request, tmp_path):
    with temporary_database(request.param, tmp_path, fresh=True) as uri:
        yield uri


def test_upgrade_dedupes_points_and_keeps_model_links(old_db_uri, tmp_path):
    db = open_database(old_db_uri)
    upgrade(db, "0002")
    with db.write() as cur:
        cur.execute(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
            " creation_time, last_update_time) VALUES (0, 'Default', ?, 'active', 1, 1)",
            (str(tmp_path / "a"),),
        )
        cur.execute(
            "INSERT INTO runs (run_id, experiment_id, name, user_id, status, start_time, artifact_uri,"
            " lifecycle_stage) VALUES ('r1', 0, 'r', 'u', 'RUNNING', 1, ?, 'active')",
            (str(tmp_path / "a" / "r1"),),
        )
        # what labkeep <= 0002 stored: step 0 once plain, twice again linked to two models,
        # and a retried request's repeat at step 1
        cur.executemany(
            _INSERT,
            [
                ("r1", "loss", 0, 10, 1.0, 0, None),
                ("r1", "loss", 0, 10, 1.0, 0, "m-a"),
                ("r1", "loss", 0, 10, 1.0, 0, "m-b"),
                ("r1", "loss", 1, 11, 0.5, 0, None),
                ("r1", "loss", 1, 11, 0.5, 0, None),
                ("r1", "loss", 2, 12, 0.0, 1, None),  # NaN
                ("r1", "loss", 2, 12, 0.0, 1, None),
            ],
        )
    db.close()
    store = SqlTrackingStore(old_db_uri, str(tmp_path / "a"))  # opening upgrades to the head
    try:
        assert current_revision(store.db) == SCHEMA_HEAD
        history = store.get_metric_history("r1", "loss")
        assert [(m.step, m.timestamp) for m in history] == [(0, 10), (1, 11), (2, 12)]
        with store.db.read() as cur:
            links = cur.execute(
                "SELECT model_id, run_id, step FROM model_metrics ORDER BY model_id"
            ).fetchall()
        assert [tuple(r) for r in links] == [("m-a", "r1", 0), ("m-b", "r1", 0)]
        store.log_metric("r1", Metric("loss", 0.5, 11, 1))  # the same point again: still one
        assert len(store.get_metric_history("r1", "loss")) == 3
    finally:
        store.close()
