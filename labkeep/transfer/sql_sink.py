"""Sink into a labkeep SQL store: bulk inserts that keep ids, idempotent by construction.

Each run is written whole (run row, params, tags, every metric point, the latest values, inputs)
in its own transaction, or under its own savepoint inside a ``batch()`` of runs, so an interrupted
import leaves whole runs only; the next import finds them and adds what is missing. A run that is already there gets only what it lacks: new metric points
(compared as a multiset of (key, step, timestamp, value)), new params and tags, a newer status.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from labkeep.stores.sql.db import Cursor
from labkeep.stores.sql.db import upsert_sql as _upsert
from labkeep.stores.sql.metric_rows import METRIC_INSERT, MODEL_METRIC_INSERT
from labkeep.stores.sql.runs import link_dataset_input
from labkeep.transfer.points import stored_rows
from labkeep.utils.clock import now_ms
from labkeep.utils.validation import encode_metric_value

_RUN_INSERT = (
    "INSERT INTO runs (run_id, experiment_id, name, user_id, status, start_time, end_time, deleted_time,"
    " artifact_uri, lifecycle_stage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


# A bulk load keeps the metric index's hot pages in memory: 256 MB of page cache (default 2 MB).
_BULK_CACHE_KIB = 262144


class Collision(Exception):
    """The destination holds an item with the same id and different content."""


def _point_row(run_id: str, p: list, model: tuple | None) -> tuple:
    key, value, ts, step = p[0], p[1], p[2], p[3]
    value = float(value)
    stored, kind = (value, 0) if math.isfinite(value) else encode_metric_value(value)
    model_id, ds_name, ds_digest = model or (None, None, None)
    return (run_id, key, int(step), int(ts), stored, kind, model_id, ds_name, ds_digest)


class SqlSink:
    """Writes records into the labkeep store at ``uri`` (SQLite, PostgreSQL, MySQL/MariaDB)."""

    def __init__(
        self, uri: str, artifact_root: str | None = None, dry_run: bool = False, store: Any = None
    ) -> None:
        from labkeep.stores.sql.metric_rows import LATEST_UPSERT
        from labkeep.stores.sql.tracking import SqlTrackingStore

        self.uri = uri
        self._owns_store = store is None
        self.store = store or SqlTrackingStore(uri, artifact_root or _default_root(uri))
        self.db = self.store.db
        self.dry_run = dry_run
        self._latest_upsert = LATEST_UPSERT[self.db.dialect]
        self.description = f"labkeep store {uri.rsplit('@', 1)[-1]}"
        self._batch: Cursor | None = None

    def close(self) -> None:
        if self._owns_store:
            self.store.close()

    # ------------------------------------------------------------ experiments
    def experiment(self, rec: dict[str, Any], keep_location: bool) -> tuple[str, str, bool]:
        """(destination id, artifact location, changed) for a source experiment, created when new.

        Experiments match by name; a new one keeps its source id when that id is free.
        """
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT experiment_id, artifact_location FROM experiments WHERE name = ?", (rec["name"],)
            ).fetchone()
            if row is not None:
                exp_id = int(row[0])
                have = dict(
                    cur.execute(
                        "SELECT name, value FROM experiment_tags WHERE experiment_id = ?", (exp_id,)
                    ).fetchall()
                )
        if row is not None:
            missing = {k: v for k, v in rec["tags"].items() if have.get(k) != v}
            if missing and not self.dry_run:
                with self.db.write() as cur:
                    cur.executemany(
                        _upsert(self.db.dialect, "experiment_tags", ("experiment_id", "name"), ("value",)),
                        [(exp_id, k, v) for k, v in missing.items()],
                    )
            return str(exp_id), row[1], bool(missing)
        if self.dry_run:
            return "(new)", rec.get("artifact_location") or "", True
        with self.db.write() as cur:
            wanted = _int_id(rec["experiment_id"])
            taken = (
                wanted is None
                or cur.execute("SELECT 1 FROM experiments WHERE experiment_id = ?", (wanted,)).fetchone()
            )
            if taken:
                top = cur.execute("SELECT MAX(experiment_id) FROM experiments").one()[0]
                wanted = 1 if top is None else int(top) + 1
            location = (
                rec.get("artifact_location") if keep_location and rec.get("artifact_location") else None
            )
            location = location or f"{self.store.default_artifact_root}/{wanted}"
            now = now_ms()
            cur.execute(
                "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time,"
                " last_update_time) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    wanted,
                    rec["name"],
                    location,
                    rec.get("lifecycle_stage") or "active",
                    rec.get("creation_time") or now,
                    rec.get("last_update_time") or rec.get("creation_time") or now,
                ),
            )
            cur.executemany(
                "INSERT INTO experiment_tags (experiment_id, name, value) VALUES (?, ?, ?)",
                [(wanted, k, v) for k, v in rec["tags"].items()],
            )
        return str(wanted), location, True

    # ------------------------------------------------------------ runs
    def run(
        self, rec: dict[str, Any], exp_id: str, artifact_uri: str, model_points: dict | None = None
    ) -> str:
        """Write one run; returns "new", "updated" or "unchanged". Raises ``Collision``."""
        model_points = model_points or {}
        if self.dry_run:
            with self.db.read() as cur:
                return self._run(cur, rec, exp_id, artifact_uri, model_points, write=False)
        if self._batch is not None:
            cur = self._batch
            cur.execute("SAVEPOINT lk_run")
            try:
                status = self._run(cur, rec, exp_id, artifact_uri, model_points, write=True)
            except BaseException:
                cur.execute("ROLLBACK TO SAVEPOINT lk_run")
                cur.execute("RELEASE SAVEPOINT lk_run")
                raise
            cur.execute("RELEASE SAVEPOINT lk_run")
            return status
        with self.db.write() as cur:
            return self._run(cur, rec, exp_id, artifact_uri, model_points, write=True)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Write the runs sent inside this block in one transaction, each run under its own savepoint.

        A run that fails is rolled back alone (the caller records it and goes on). When the block
        ends early (an interrupt), the runs already written are committed: the store holds whole
        runs only, and the next import continues from there.
        """
        if self.dry_run or self._batch is not None:
            yield
            return
        stopped: BaseException | None = None
        with self.db.write() as cur:
            if self.db.dialect == "sqlite":
                cur.execute(f"PRAGMA cache_size = -{_BULK_CACHE_KIB}")
            self._batch = cur
            try:
                yield
            except BaseException as exc:
                stopped = exc
            finally:
                self._batch = None
        if stopped is not None:
            raise stopped

    def _run(
        self, cur: Cursor, rec: dict, exp_id: str, artifact_uri: str, model_points: dict, write: bool
    ) -> str:
        run_id = rec["run_id"]
        row = cur.execute(
            "SELECT experiment_id, status, end_time, name, lifecycle_stage FROM runs WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            if write:
                self._insert_run(cur, rec, exp_id, artifact_uri, model_points)
                self._inputs(cur, rec, exp_id)
            return "new"
        if exp_id != "(new)" and int(row[0]) != int(exp_id):
            raise Collision(f"the destination has a run with this id in experiment {row[0]}, not {exp_id}")
        changed = False
        have_params: dict[str, str] = dict(
            cur.execute("SELECT name, value FROM params WHERE run_id = ?", (run_id,)).fetchall()
        )
        for key, value in rec["params"].items():
            if key in have_params and have_params[key] != value:
                raise Collision(f"param {key!r} is {have_params[key]!r} in the destination, {value!r} here")
        new_params = [(run_id, k, val) for k, val in rec["params"].items() if k not in have_params]
        have_tags: dict[str, str] = dict(
            cur.execute("SELECT name, value FROM tags WHERE run_id = ?", (run_id,)).fetchall()
        )
        new_tags = [(run_id, k, val) for k, val in rec["tags"].items() if have_tags.get(k) != val]
        # an identical point is one point (the store keeps it once), so a source that repeats one
        # is still unchanged the second time
        have_points = {
            (name, int(step), int(ts), float(value), int(kind))
            for name, step, ts, value, kind in cur.execute(
                "SELECT name, step, ts, value, kind FROM metrics WHERE run_id = ?", (run_id,)
            ).fetchall()
        }
        new_rows = []
        for r in _rows(run_id, rec["metrics"], model_points):
            k = (r[1], r[2], r[3], r[4], r[5])
            if k not in have_points:
                have_points.add(k)
                new_rows.append(r)
        info = (
            rec["status"],
            rec.get("end_time"),
            rec.get("name") or row[3],
            rec.get("lifecycle_stage") or "active",
        )
        info_changed = (row[1], row[2], row[3], row[4]) != info
        changed = bool(new_params or new_tags or new_rows or info_changed)
        if write and changed:
            cur.executemany("INSERT INTO params (run_id, name, value) VALUES (?, ?, ?)", new_params)
            cur.executemany(_upsert(self.db.dialect, "tags", ("run_id", "name"), ("value",)), new_tags)
            self._insert_metrics(cur, new_rows)
            if info_changed:
                cur.execute(
                    "UPDATE runs SET status = ?, end_time = ?, name = ?, lifecycle_stage = ?, deleted_time = ?"
                    " WHERE run_id = ?",
                    (*info, rec.get("deleted_time"), run_id),
                )
        if write:
            self._inputs(cur, rec, exp_id)
        return "updated" if changed else "unchanged"

    def _insert_run(self, cur: Cursor, rec: dict, exp_id: str, artifact_uri: str, model_points: dict) -> None:
        run_id = rec["run_id"]
        tags = dict(rec["tags"])
        name = rec.get("name") or tags.get("mlflow.runName") or run_id
        tags.setdefault("mlflow.runName", name)
        cur.execute(
            _RUN_INSERT,
            (
                run_id,
                int(exp_id),
                name,
                rec.get("user_id") or "",
                rec["status"],
                rec.get("start_time") or 0,
                rec.get("end_time"),
                rec.get("deleted_time"),
                artifact_uri,
                rec.get("lifecycle_stage") or "active",
            ),
        )
        cur.executemany(
            "INSERT INTO params (run_id, name, value) VALUES (?, ?, ?)",
            [(run_id, k, val) for k, val in rec["params"].items()],
        )
        cur.executemany(
            "INSERT INTO tags (run_id, name, value) VALUES (?, ?, ?)",
            [(run_id, k, val) for k, val in tags.items()],
        )
        self._insert_metrics(cur, _rows(run_id, rec["metrics"], model_points))

    def _insert_metrics(self, cur: Cursor, rows: list[tuple]) -> None:
        if not rows:
            return
        # MLflow's file store can hold the same point twice; it is stored once, as the tracking store does
        cur.executemany(METRIC_INSERT[self.db.dialect], rows)
        linked = [row for row in rows if row[6] is not None]
        if linked:
            cur.executemany(MODEL_METRIC_INSERT[self.db.dialect], linked)
        latest: dict[str, tuple] = {}
        for row in rows:
            best = latest.get(row[1])
            if best is None or (row[2], row[3], row[4]) > (best[2], best[3], best[4]):
                latest[row[1]] = row
        cur.executemany(self._latest_upsert, list(latest.values()))

    def _inputs(self, cur: Cursor, rec: dict, exp_id: str) -> None:
        run_id = rec["run_id"]
        dialect = self.db.dialect
        for inp in rec.get("inputs") or ():
            ds = inp["dataset"]
            source = (ds.get("source_type") or "", ds.get("source") or "", ds.get("schema"), ds.get("profile"))
            link_dataset_input(cur, dialect, run_id, int(exp_id), (ds["name"], ds["digest"], *source), inp.get("tags") or {})
        models = [(run_id, m, "input", 0) for m in rec.get("model_inputs") or ()]
        models += [
            (run_id, o["model_id"], "output", int(o.get("step") or 0)) for o in rec.get("outputs") or ()
        ]
        if models:
            cur.executemany(
                _upsert(dialect, "run_models", ("run_id", "model_id", "direction"), ("step",)), models
            )

    # ------------------------------------------------------------ logged models
    def logged_model(self, rec: dict[str, Any], exp_id: str, artifact_location: str) -> str:
        mid = rec["model_id"]
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT experiment_id, status FROM logged_models WHERE model_id = ?", (mid,)
            ).fetchone()
            have_tags = dict(
                cur.execute("SELECT name, value FROM logged_model_tags WHERE model_id = ?", (mid,)).fetchall()
            )
            have_params = dict(
                cur.execute(
                    "SELECT name, value FROM logged_model_params WHERE model_id = ?", (mid,)
                ).fetchall()
            )
        if row is not None and exp_id != "(new)" and int(row[0]) != int(exp_id):
            raise Collision(f"the destination has a logged model with this id in experiment {row[0]}")
        new_tags = [(mid, k, v) for k, v in rec["tags"].items() if have_tags.get(k) != v]
        new_params = [(mid, k, v) for k, v in rec["params"].items() if k not in have_params]
        status_changed = row is not None and int(row[1]) != int(rec["status"])
        if row is not None and not (new_tags or new_params or status_changed):
            return "unchanged"
        if self.dry_run:
            return "new" if row is None else "updated"
        dialect = self.db.dialect
        with self.db.write() as cur:
            if row is None:
                now = now_ms()
                cur.execute(
                    "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp,"
                    " last_updated_timestamp, status, lifecycle_stage, model_type, source_run_id, status_message)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        mid,
                        int(exp_id),
                        rec["name"],
                        artifact_location,
                        rec.get("creation_timestamp") or now,
                        rec.get("last_updated_timestamp") or now,
                        int(rec["status"]),
                        rec.get("lifecycle_stage") or "active",
                        rec.get("model_type"),
                        rec.get("source_run_id"),
                        rec.get("status_message"),
                    ),
                )
            elif status_changed:
                cur.execute(
                    "UPDATE logged_models SET status = ?, last_updated_timestamp = ? WHERE model_id = ?",
                    (int(rec["status"]), rec.get("last_updated_timestamp") or now_ms(), mid),
                )
            cur.executemany(_upsert(dialect, "logged_model_tags", ("model_id", "name"), ("value",)), new_tags)
            cur.executemany(
                "INSERT INTO logged_model_params (model_id, name, value) VALUES (?, ?, ?)", new_params
            )
        return "new" if row is None else "updated"

    def trace(self, rec: dict[str, Any], exp_id: str) -> str:
        from labkeep.transfer.traces import write_trace

        return write_trace(self.db, rec, exp_id, self.dry_run)

    # ------------------------------------------------------------ registry
    def registered_model(self, rec: dict[str, Any], source_map: dict[str, str]) -> str:
        """Write a registered model with its versions, tags and aliases; new versions only."""
        from labkeep.transfer.sql_registry import write_registered_model

        return write_registered_model(self.db, rec, source_map, self.dry_run)


def _rows(run_id: str, points: Any, model_points: dict) -> list[tuple]:
    """The points of a record as ``metrics`` rows, with their logged-model links."""
    if model_points:
        return [_point_row(run_id, p, model_points.get((p[0], int(p[2]), int(p[3])))) for p in points]
    rows = stored_rows(run_id, points)
    return rows if rows is not None else _fast_rows(run_id, points)


def _fast_rows(run_id: str, points: list) -> list[tuple]:
    rows: list[tuple] = []
    append = rows.append
    isfinite = math.isfinite
    for key, value, ts, step, *_ in points:
        value = float(value)
        if isfinite(value):
            append((run_id, key, int(step), int(ts), value, 0, None, None, None))
        else:
            stored, kind = encode_metric_value(value)
            append((run_id, key, int(step), int(ts), stored, kind, None, None, None))
    return rows


def _int_id(value: Any) -> int | None:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n if 0 <= n < 2**63 else None


def _default_root(uri: str) -> str:
    from labkeep.config import default_artifact_root

    return default_artifact_root(uri)
