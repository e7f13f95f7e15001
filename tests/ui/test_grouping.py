"""The runs table's grouping statement on every backend, and the SQLite indexes it walks (0003_ui).

Store-level: the Chromium tests (test_second_pass.py) show the groups table; these check its
numbers against a plain Python computation, and that the migration's indexes are used without
taking the runs page off its start-time index.
"""

from __future__ import annotations

import sqlite3
import statistics

from labkeep.entities import Metric, Param, RunTag
from labkeep.server.ui import runs_table as rt
from labkeep.stores.sql.db import open_database
from labkeep.stores.sql.migrate import SCHEMA_HEAD, upgrade
from labkeep.stores.sql.tracking import SqlTrackingStore


def _fill(store: SqlTrackingStore) -> tuple[str, list[dict]]:
    exp = store.create_experiment("grouping")
    truth = []
    for i in range(60):
        run = store.create_run(exp, "u", 1_700_000_000_000 + i, [], f"r{i}")
        rid = run.info.run_id
        lr = None if i % 10 == 0 else ["0.1", "0.01", "0.001"][i % 3]
        loss = None if i % 7 == 0 else (i % 13) / 13.0
        store.log_batch(
            rid,
            metrics=[Metric("loss", loss, 1, 0)] if loss is not None else [],
            params=[Param("lr", lr)] if lr is not None else [],
            tags=[RunTag("team", "a" if i % 2 else "b")],
        )
        deleted = i % 11 == 5
        if deleted:
            store.delete_run(rid)
        else:
            truth.append({"lr": lr, "loss": loss, "team": "a" if i % 2 else "b"})
    return exp, truth


def _expected(truth: list[dict], key: str) -> dict:
    out: dict = {}
    for row in truth:
        out.setdefault(row[key], []).append(row["loss"])
    return {
        k: (len(v), [x for x in v if x is not None]) for k, v in out.items()
    }


def test_group_rows_match_the_runs_on_every_backend(db_uri, tmp_path):
    store = SqlTrackingStore(db_uri, str(tmp_path / "artifacts"))
    exp, truth = _fill(store)
    for group, key in (("params.lr", "lr"), ("tags.team", "team")):
        q = rt.TableQuery(experiment_id=exp, group=group)
        got = {g["value"]: g for g in rt.group_rows(store, q, "", ["metrics.loss"])}
        want = _expected(truth, key)
        assert set(got) == set(want)
        for value, (count, losses) in want.items():
            g = got[value]
            assert g["count"] == count
            stats = g["stats"][0]
            assert stats["min"] == min(losses) and stats["max"] == max(losses)
            assert abs(stats["mean"] - statistics.fmean(losses)) < 1e-9
        assert sum(g["count"] for g in got.values()) == rt.count_runs(store, q, "")
    # a filter narrows the groups to the runs the table lists
    q = rt.TableQuery(experiment_id=exp, group="params.lr", filter="metrics.loss > 0.5")
    got = {g["value"]: g["count"] for g in rt.group_rows(store, q, q.filter, [])}
    want: dict = {}
    for row in truth:
        if row["loss"] is not None and row["loss"] > 0.5:
            want[row["lr"]] = want.get(row["lr"], 0) + 1
    assert got == want
    store.close()


def _plan(path, sql: str, args=()) -> str:
    con = sqlite3.connect(path)
    try:
        return " | ".join(r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql, args))
    finally:
        con.close()


def test_sqlite_upgrade_to_0003_ui_keeps_the_runs_page_on_its_start_time_index(tmp_path):
    # a store created before this revision, with statistics gathered (as a used store has them)
    path = tmp_path / "old.db"
    uri = f"sqlite:///{path}"
    db = open_database(uri)
    upgrade(db, "0002")
    db.close()
    con = sqlite3.connect(path)
    con.executemany(
        "INSERT INTO runs (run_id, experiment_id, name, user_id, status, start_time, artifact_uri,"
        " lifecycle_stage) VALUES (?, 0, ?, 'u', 'FINISHED', ?, 'x', 'active')",
        [(f"{i:032x}", f"r{i}", i) for i in range(3000)],
    )
    con.executemany("INSERT INTO params (run_id, name, value) VALUES (?, 'lr', ?)",
                    [(f"{i:032x}", str(i % 3)) for i in range(3000)])  # fmt: skip
    con.execute("ANALYZE")
    con.commit()
    con.close()
    store = SqlTrackingStore(uri, str(tmp_path / "artifacts"))  # migrates to the head
    con = sqlite3.connect(path)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == SCHEMA_HEAD
    con.close()
    from labkeep import search

    page_sql, args = search.build_runs_query(["0"], ("active",), "", ["attributes.start_time DESC"], 101, 0, "sqlite")
    assert "ix_runs_exp_stage_start" in _plan(path, page_sql, args)
    # searches ordered by a metric still walk (name, value), not the grouping index
    con = sqlite3.connect(path)
    con.executemany("INSERT INTO latest_metrics (run_id, name, step, ts, value, kind) VALUES (?, ?, 0, 0, ?, 0)",
                    [(f"{i:032x}", name, i / 3000) for i in range(3000) for name in ("loss", "acc")])  # fmt: skip
    con.execute("ANALYZE latest_metrics")
    con.commit()
    con.close()
    sorted_sql, args = search.build_runs_query(["0"], ("active",), "", ["metrics.loss DESC"], 101, 0, "sqlite")
    assert "ix_latest_metrics_name_value" in _plan(path, sorted_sql, args)
    q = rt.TableQuery(experiment_id="0", group="params.lr")
    assert sorted(g["count"] for g in rt.group_rows(store, q, "", [])) == [1000, 1000, 1000]
    sel, sel_args = rt._base_sql(store, q, "")
    group_plan = _plan(
        path,
        f"SELECT g.value, COUNT(*) FROM ({sel}) s LEFT JOIN params g{rt._covering_hint(store, 'params')}"
        " ON g.run_id = s.run_id AND g.name = ? GROUP BY g.value",
        [*sel_args, "lr"],
    )
    assert "COVERING INDEX ix_runs_exp_stage_run" in group_plan
    assert "COVERING INDEX ix_params_name_run" in group_plan
    store.close()
