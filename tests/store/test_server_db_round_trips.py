"""The short write path on database servers: a batch of plain points is one statement without a
transaction around it (PostgreSQL), and a pooled connection is tested only after sitting idle."""

from __future__ import annotations

import math

import pytest
from dbs import BACKENDS, MYSQL_ADMIN, PG_ADMIN, temporary_database

from labkeep.entities import Metric, Param
from labkeep.exceptions import LabkeepException
from labkeep.stores.sql import db as db_module
from labkeep.stores.sql.tracking import SqlTrackingStore

SERVERS = [b for b in BACKENDS if b != "sqlite"]


@pytest.fixture(params=SERVERS)
def store(request, tmp_path):
    with temporary_database(request.param, tmp_path) as uri:
        s = SqlTrackingStore(uri, str(tmp_path / "a"))
        try:
            yield s
        finally:
            s.close()


def _count(store, run_id: str) -> int:
    with store.db.read() as cur:
        return int(cur.execute("SELECT COUNT(*) FROM metrics WHERE run_id = ?", (run_id,)).one()[0])


def test_plain_batches_keep_the_newest_point_per_metric_and_skip_repeats(store):
    run_id = store.create_run("0", "u", 1, [], "r").info.run_id
    t = 1_700_000_000_000
    # within one batch: the greatest (step, timestamp, value) is the latest, whatever the order
    store.log_batch(run_id, [Metric("m", 3.0, t + 5, 7), Metric("m", 1.0, t + 9, 7), Metric("m", 2.0, t, 9),
                             Metric("n", 0.5, t, 0), Metric("m", 0.25, t + 1, 9)])
    assert store.get_run(run_id).data.metrics == {"m": 0.25, "n": 0.5}  # step 9, the later time
    # an older batch afterwards leaves the latest alone; a newer one replaces it
    store.log_batch(run_id, [Metric("m", 99.0, t, 1), Metric("n", -1.0, t + 1, 0)])
    assert store.get_run(run_id).data.metrics == {"m": 0.25, "n": -1.0}
    store.log_batch(run_id, [Metric("m", 2.0, t, 9), Metric("m", 2.0, t, 9)])  # repeats: stored once
    assert _count(store, run_id) == 7
    history = store.get_metric_history(run_id, "m")
    assert [(p.step, p.timestamp, p.value) for p in history] == [
        (1, t, 99.0), (7, t + 5, 3.0), (7, t + 9, 1.0), (9, t, 2.0), (9, t + 1, 0.25)
    ]
    # values that need every bit come back exactly
    exact = [0.1, 1 / 3, 2.0**-1074, 1.7976931348623157e308, -0.0, 123456789.123456789]
    store.log_batch(run_id, [Metric("x", value, t, i) for i, value in enumerate(exact)])
    got = [p.value for p in store.get_metric_history(run_id, "x")]
    assert got == exact
    if store.db.dialect == "postgresql":  # (MariaDB's DOUBLE keeps no sign on zero)
        assert math.copysign(1.0, got[4]) == -1.0


def test_plain_batch_to_a_missing_or_deleted_run_writes_nothing(store):
    run_id = store.create_run("0", "u", 1, [], "r").info.run_id
    store.log_batch(run_id, [Metric("m", 1.0, 1, 0)])
    store.delete_run(run_id)
    with pytest.raises(LabkeepException) as e:
        store.log_batch(run_id, [Metric("m", 2.0, 2, 1)])
    assert e.value.error_code == "INVALID_PARAMETER_VALUE" and "active" in e.value.message
    with pytest.raises(LabkeepException) as e:
        store.log_metric(run_id, Metric("m", 2.0, 2, 1))
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    store.restore_run(run_id)
    assert _count(store, run_id) == 1 and store.get_run(run_id).data.metrics == {"m": 1.0}
    with pytest.raises(LabkeepException) as e:
        store.log_batch("f" * 32, [Metric("m", 2.0, 2, 1)])
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_one_statement_gives_the_connection_back_in_transaction_mode(store):
    """After an autocommit write the pooled connection rolls back a failed write as before."""
    run_id = store.create_run("0", "u", 1, [], "r").info.run_id
    with store.db.one_statement() as cur:
        driver = cur._cur.connection
        cur.execute("UPDATE runs SET name = ? WHERE run_id = ?", ("renamed", run_id))
    autocommit = driver.get_autocommit() if callable(getattr(driver, "get_autocommit", None)) else driver.autocommit
    assert not autocommit
    store.log_metric(run_id, Metric("m", 1.0, 1, 0))
    with pytest.raises(LabkeepException):  # a param batch that fails halfway writes nothing
        store.log_batch(run_id, [Metric("m", 5.0, 2, 1)], [Param("p", "1"), Param("p", "2")])
    run = store.get_run(run_id)
    assert run.info.run_name == "renamed" and run.data.metrics == {"m": 1.0} and run.data.params == {}


def _kill_sessions(store) -> None:
    """End every server session of the store's database, as a database restart would."""
    from sqlalchemy import create_engine, text

    name = store.db.engine.url.database
    if store.db.dialect == "postgresql":
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        sql = f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        with admin.connect() as conn:
            conn.execute(text(sql))
    else:
        admin = create_engine(MYSQL_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            ids = conn.execute(
                text("SELECT id FROM information_schema.processlist WHERE db = :db AND id <> CONNECTION_ID()"),
                {"db": name},
            ).scalars().all()
            for pid in ids:
                conn.execute(text(f"KILL {int(pid)}"))
    admin.dispose()


def test_a_dead_connection_is_replaced_when_idle_and_answers_retry_when_busy(store, monkeypatch):
    run_id = store.create_run("0", "u", 1, [], "r").info.run_id
    store.log_metric(run_id, Metric("m", 1.0, 1, 0))
    # busy: connections were used a moment ago, so nothing is tested at checkout; a dead one
    # fails its request with "retry" (503) and is dropped, and the retry works
    _kill_sessions(store)
    errors = 0
    for _ in range(4):
        try:
            store.get_run(run_id)
            break
        except LabkeepException as exc:
            assert exc.error_code == "TEMPORARILY_UNAVAILABLE", exc.message
            errors += 1
    else:
        pytest.fail("the store did not recover from the lost connections")
    assert errors >= 1
    # idle: a connection unused for longer than the threshold is tested first and replaced
    monkeypatch.setattr(db_module, "_IDLE_PING_S", 0.0)
    _kill_sessions(store)
    assert store.get_run(run_id).data.metrics == {"m": 1.0}
    store.log_metric(run_id, Metric("m", 2.0, 2, 1))
    assert store.get_run(run_id).data.metrics == {"m": 2.0}


@pytest.mark.parametrize("backend", BACKENDS)
def test_fetch_each_answers_every_statement_in_order_and_a_bad_one_fails_alone(backend, tmp_path):
    with temporary_database(backend, tmp_path) as uri:
        s = SqlTrackingStore(uri, str(tmp_path / "a"))
        try:
            runs = [s.create_run("0", "u", i, [], f"r{i}").info.run_id for i in range(3)]
            s.log_batch(runs[1], [Metric("m", 0.5, 1, 0)], [Param("p", "x")])
            with s.db.read() as cur:
                got = cur.fetch_each(
                    [
                        ("SELECT name FROM runs WHERE run_id IN (?, ?) ORDER BY name", runs[:2]),
                        ("SELECT name, value FROM params WHERE run_id = ?", (runs[1],)),
                        ("SELECT name FROM runs WHERE run_id = ?", ("f" * 32,)),
                        ("SELECT COUNT(*) FROM runs", ()),
                    ]
                )
            assert [[tuple(r) for r in rows] for rows in got] == [[("r0",), ("r1",)], [("p", "x")], [], [(3,)]]
            with pytest.raises(Exception, match="(?i)no_such_column|no such column|unknown column"):
                with s.db.read() as cur:
                    cur.fetch_each([("SELECT 1", ()), ("SELECT no_such_column FROM runs", ())])
            # the store goes on answering, and whole runs load as before
            loaded = s.get_run(runs[1])
            assert loaded.data.params == {"p": "x"} and loaded.data.metrics == {"m": 0.5}
        finally:
            s.close()


def test_reads_leave_pooled_connections_in_transaction_mode(store):
    run_id = store.create_run("0", "u", 1, [], "r").info.run_id
    with store.db.read() as cur:
        driver = cur._cur.connection
        cur.execute("SELECT 1").fetchall()
    autocommit = driver.get_autocommit() if callable(getattr(driver, "get_autocommit", None)) else driver.autocommit
    assert not autocommit
    with pytest.raises(LabkeepException):  # a failing write on the same pool still writes nothing
        store.log_batch(run_id, [Metric("m", 5.0, 2, 1)], [Param("p", "1"), Param("p", "2")])
    assert store.get_run(run_id).data.metrics == {}


def test_a_page_of_runs_loads_whatever_their_ids_hold(store, tmp_path):
    """Run ids travel to PostgreSQL as one comma-joined text; an id holding a comma (which no
    labkeep path creates, but a database may hold) takes the array form and still loads."""
    made = store.create_run("0", "u", 5, [], "made").info.run_id
    store.log_batch(made, [Metric("m", 1.0, 1, 0)], [Param("p", "x")])
    with store.db.write() as cur:
        cur.execute(
            "INSERT INTO runs (run_id, experiment_id, name, user_id, status, start_time, artifact_uri,"
            " lifecycle_stage) VALUES (?, 0, 'odd', 'u', 'FINISHED', 1, ?, 'active')",
            ("odd,id", str(tmp_path / "odd")),
        )
        cur.execute("INSERT INTO params (run_id, name, value) VALUES (?, 'p', 'y')", ("odd,id",))
    runs = {r.info.run_id: r for r in store.search_runs(["0"], "")}
    assert set(runs) == {made, "odd,id"}
    assert runs["odd,id"].data.params == {"p": "y"} and runs["odd,id"].info.run_name == "odd"
    assert runs[made].data.params == {"p": "x"} and runs[made].data.metrics == {"m": 1.0}
