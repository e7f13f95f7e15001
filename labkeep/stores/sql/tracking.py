"""The SQL tracking store: experiments, runs, metrics, params, tags, inputs and logged models.

One store for SQLite (embedded default), PostgreSQL and MySQL/MariaDB. Every write is one short
transaction; hot paths (``log_metric``, ``log_batch``, ``get_metric_history``) run a handful of
prepared statements with plain tuples.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Sequence
from typing import Any

from labkeep.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    PagedList,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
    ViewType,
)
from labkeep.exceptions import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from labkeep.stores.base import (
    SEARCH_EXPERIMENTS_DEFAULT_MAX_RESULTS,
    SEARCH_RUNS_DEFAULT_MAX_RESULTS,
    TrackingStore,
)
from labkeep.stores.sql.db import Cursor, Database, open_database
from labkeep.stores.sql.db import chunks as _chunks
from labkeep.stores.sql.db import placeholders as _marks
from labkeep.stores.sql.db import upsert_sql as _upsert_sql
from labkeep.stores.sql.migrate import ensure_schema
from labkeep.utils import validation as v
from labkeep.utils.clock import now_ms
from labkeep.utils.names import generate_run_name

RUN_NAME_TAG = "mlflow.runName"
MODEL_VERSIONS_TAG = "mlflow.modelVersions"

_RUN_COLUMNS = (
    "run_id, experiment_id, name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage"
)
_METRIC_COLUMNS = "name, value, kind, ts, step, model_id, dataset_name, dataset_digest"
_LATEST_INSERT = (
    "INSERT INTO latest_metrics (run_id, name, step, ts, value, kind, model_id, dataset_name, dataset_digest)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_LATEST_UPSERT = {
    # The stored point is replaced only by a newer one: max of (step, timestamp, value).
    "sqlite": _LATEST_INSERT
    + " ON CONFLICT (run_id, name) DO UPDATE SET step = excluded.step, ts = excluded.ts,"
    " value = excluded.value, kind = excluded.kind, model_id = excluded.model_id,"
    " dataset_name = excluded.dataset_name, dataset_digest = excluded.dataset_digest"
    " WHERE (excluded.step, excluded.ts, excluded.value)"
    " > (latest_metrics.step, latest_metrics.ts, latest_metrics.value)",
    # MySQL applies assignments left to right: decide once, in a session variable, then reuse it.
    "mysql": _LATEST_INSERT + " ON DUPLICATE KEY UPDATE"
    " kind = IF(@lk_newer := ((VALUES(step), VALUES(ts), VALUES(value)) > (step, ts, value)), VALUES(kind), kind),"
    " model_id = IF(@lk_newer, VALUES(model_id), model_id),"
    " dataset_name = IF(@lk_newer, VALUES(dataset_name), dataset_name),"
    " dataset_digest = IF(@lk_newer, VALUES(dataset_digest), dataset_digest),"
    " value = IF(@lk_newer, VALUES(value), value),"
    " ts = IF(@lk_newer, VALUES(ts), ts),"
    " step = IF(@lk_newer, VALUES(step), step)",
}
_LATEST_UPSERT["postgresql"] = _LATEST_UPSERT["sqlite"]
# An identical point (run, key, step, timestamp, value) is stored once: repeats are skipped.
_METRIC_INSERT_SQL = (
    "INSERT INTO metrics (run_id, name, step, ts, value, kind, model_id, dataset_name, dataset_digest)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_MODEL_METRIC_INSERT_SQL = (
    "INSERT INTO model_metrics (run_id, name, step, ts, value, kind, model_id, dataset_name, dataset_digest)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Identical points (run, key, step, timestamp, value) are stored once; the transfer sink writes
# through the same statements.
METRIC_INSERT = {
    "sqlite": _METRIC_INSERT_SQL + " ON CONFLICT DO NOTHING",
    "postgresql": _METRIC_INSERT_SQL + " ON CONFLICT DO NOTHING",
    "mysql": _METRIC_INSERT_SQL + " ON DUPLICATE KEY UPDATE run_id = run_id",
}
MODEL_METRIC_INSERT = {
    "sqlite": _MODEL_METRIC_INSERT_SQL + " ON CONFLICT DO NOTHING",
    "postgresql": _MODEL_METRIC_INSERT_SQL + " ON CONFLICT DO NOTHING",
    "mysql": _MODEL_METRIC_INSERT_SQL + " ON DUPLICATE KEY UPDATE model_id = model_id",
}


_PG_UNNEST_MIN_ROWS = 8
_PG_METRIC_INSERT_UNNEST = (
    "INSERT INTO metrics (run_id, name, step, ts, value, kind, model_id, dataset_name, dataset_digest)"
    " SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::double precision[],"
    " ?::smallint[], ?::text[], ?::text[], ?::text[])"
    " ON CONFLICT DO NOTHING"  # identical points are stored once (see METRIC_INSERT)
)


def _metric_row(run_id: str, m: Metric) -> tuple:
    value, ts, step = v.validate_metric(m.key, m.value, m.timestamp, m.step)
    stored, kind = v.encode_metric_value(value)
    return (run_id, m.key, step, ts, stored, kind, m.model_id, m.dataset_name, m.dataset_digest)


def _metric_rows(run_id: str, metrics: Sequence[Metric]) -> list[tuple]:
    """Validated rows for many metrics; plain finite floats with known-good keys take a fast path."""
    rows: list[tuple] = []
    append = rows.append
    known_keys = v._VALID_KEYS
    isfinite = math.isfinite
    for m in metrics:
        key, value, ts, step = m.key, m.value, m.timestamp, m.step
        if (
            type(value) is float
            and type(ts) is int
            and type(step) is int
            and ts >= 0
            and isfinite(value)
            and (key, "metric name") in known_keys
        ):
            append((run_id, key, step, ts, value, 0, m.model_id, m.dataset_name, m.dataset_digest))
        else:
            append(_metric_row(run_id, m))
    return rows


_new_object = object.__new__
_set_attribute = object.__setattr__


def _metric_from_row(row: tuple, run_id: str | None = None) -> Metric:
    """A Metric from a ``_METRIC_COLUMNS`` row (hot path: reading runs and histories).

    Setting ``__dict__`` in one go is ~4x faster than the frozen dataclass ``__init__``, which
    matters for histories of 100k+ points. Drivers return ints for BIGINT and floats for doubles.
    """
    name, value, kind, ts, step, model_id, dataset_name, dataset_digest = row
    metric = _new_object(Metric)
    _set_attribute(
        metric,
        "__dict__",
        {
            "key": name,
            "value": value if kind == 0 else v.decode_metric_value(float(value), int(kind)),
            "timestamp": ts,
            "step": step,
            "model_id": model_id,
            "dataset_name": dataset_name,
            "dataset_digest": dataset_digest,
            "run_id": run_id,
        },
    )
    return metric


def _metrics_from_rows(rows: list[tuple], key: str, run_id: str) -> list[Metric]:
    """The points of one metric from ``(value, kind, ts, step, model_id, dataset_name,
    dataset_digest)`` rows, like ``_metric_from_row`` with the per-row call inlined."""
    out: list[Metric] = []
    append = out.append
    decode = v.decode_metric_value
    for value, kind, ts, step, model_id, dataset_name, dataset_digest in rows:
        metric = _new_object(Metric)
        _set_attribute(
            metric,
            "__dict__",
            {
                "key": key,
                "value": value if kind == 0 else decode(float(value), int(kind)),
                "timestamp": ts,
                "step": step,
                "model_id": model_id,
                "dataset_name": dataset_name,
                "dataset_digest": dataset_digest,
                "run_id": run_id,
            },
        )
        append(metric)
    return out


class SqlTrackingStore(TrackingStore):
    """Tracking store on a SQL database (``sqlite:///…``, ``postgresql://…``, ``mysql+pymysql://…``)."""

    def __init__(self, store_uri: str, default_artifact_root: str) -> None:
        self.store_uri = store_uri
        self.default_artifact_root = default_artifact_root.rstrip("/")
        self.db: Database = open_database(store_uri)
        ensure_schema(self.db)
        self._create_default_experiment()  # also when another store migrated this database

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------ experiments
    def _experiment_location(self, experiment_id: int) -> str:
        return f"{self.default_artifact_root}/{experiment_id}"

    def _create_default_experiment(self) -> None:
        with self.db.read() as cur:
            if cur.execute("SELECT 1 FROM experiments WHERE experiment_id = 0").fetchone():
                return
        try:
            with self.db.write() as cur:
                if cur.execute("SELECT 1 FROM experiments WHERE experiment_id = 0").fetchone():
                    return
                now = now_ms()
                cur.execute(
                    "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
                    " creation_time, last_update_time) VALUES (?, ?, ?, ?, ?, ?)",
                    (0, "Default", self._experiment_location(0), LifecycleStage.ACTIVE, now, now),
                )
        except Exception as exc:
            # Servers starting at once on a new database: another one inserted it first.
            if not self.db.is_integrity_error(exc):
                raise

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[RunTag] | None = None
    ) -> str:
        v.validate_experiment_name(name)
        v.validate_artifact_location(artifact_location)
        tag_rows = []
        for tag in tags or ():
            v.validate_key(tag.key, "tag key")
            tag_rows.append(
                (tag.key, v.validate_tag_value(tag.key, tag.value, v.MAX_EXPERIMENT_TAG_VAL_LENGTH, False))
            )
        for _attempt in range(5):
            try:
                with self.db.write() as cur:
                    if cur.execute("SELECT 1 FROM experiments WHERE name = ?", (name,)).fetchone():
                        raise ResourceAlreadyExists(
                            f"Experiment '{name}' already exists (possibly deleted: restore it or pick another name)."
                        )
                    row = cur.execute("SELECT MAX(experiment_id) FROM experiments").one()
                    exp_id = 1 if row[0] is None else int(row[0]) + 1
                    now = now_ms()
                    location = artifact_location or self._experiment_location(exp_id)
                    cur.execute(
                        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
                        " creation_time, last_update_time) VALUES (?, ?, ?, ?, ?, ?)",
                        (exp_id, name, location, LifecycleStage.ACTIVE, now, now),
                    )
                    cur.executemany(
                        "INSERT INTO experiment_tags (experiment_id, name, value) VALUES (?, ?, ?)",
                        [(exp_id, k, val) for k, val in dict(tag_rows).items()],
                    )
                return str(exp_id)
            except Exception as exc:
                if not self.db.is_integrity_error(exc):
                    raise
                # Another process took the same id or name; look again.
                if self.get_experiment_by_name(name) is not None:
                    raise ResourceAlreadyExists(f"Experiment '{name}' already exists.") from None
        raise ResourceAlreadyExists(f"Could not allocate an id for experiment '{name}'; try again.")

    def _load_experiments(self, cur: Cursor, exp_ids: Sequence[int]) -> dict[int, Experiment]:
        rows: list[tuple] = []
        tag_rows: list[tuple] = []
        for chunk in _chunks(list(exp_ids)):
            marks = _marks(len(chunk))
            rows += cur.execute(
                "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time"
                f" FROM experiments WHERE experiment_id IN ({marks})",
                chunk,
            ).fetchall()
            tag_rows += cur.execute(
                f"SELECT experiment_id, name, value FROM experiment_tags WHERE experiment_id IN ({marks})",
                chunk,
            ).fetchall()
        tags: dict[int, dict[str, str]] = {}
        for exp_id, key, value in tag_rows:
            tags.setdefault(int(exp_id), {})[key] = value
        return {
            int(r[0]): Experiment(
                experiment_id=str(r[0]),
                name=r[1],
                artifact_location=r[2],
                lifecycle_stage=r[3],
                tags=tags.get(int(r[0]), {}),
                creation_time=int(r[4]),
                last_update_time=int(r[5]),
            )
            for r in rows
        }

    def get_experiment(self, experiment_id: str) -> Experiment:
        exp_id = v.validate_experiment_id(experiment_id)
        with self.db.read() as cur:
            found = self._load_experiments(cur, [exp_id])
        if exp_id not in found:
            raise ResourceDoesNotExist(f"No experiment with id={experiment_id} exists.")
        return found[exp_id]

    def get_experiment_by_name(self, experiment_name: str) -> Experiment | None:
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT experiment_id FROM experiments WHERE name = ?", (experiment_name,)
            ).fetchone()
            if row is None:
                return None
            return self._load_experiments(cur, [int(row[0])])[int(row[0])]

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_EXPERIMENTS_DEFAULT_MAX_RESULTS,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        from labkeep import search

        limit = search.validate_max_results("experiments", max_results)
        offset = search.parse_page_token(page_token)
        sql, params = search.build_experiments_query(
            LifecycleStage.for_view(ViewType.from_string(view_type)),
            filter_string,
            list(order_by or []),
            limit + 1,
            offset,
            self.db.dialect,
        )
        with self.db.read() as cur:
            ids = [int(r[0]) for r in cur.execute(sql, params).fetchall()]
            found = self._load_experiments(cur, ids[:limit])
        token = search.make_page_token(offset + limit) if len(ids) > limit else None
        return PagedList([found[i] for i in ids[:limit]], token)

    def _set_experiment_stage(self, experiment_id: str, stage: str) -> None:
        exp_id = v.validate_experiment_id(experiment_id)
        if exp_id == 0 and stage == LifecycleStage.DELETED:
            raise InvalidParameterValue("The Default experiment (id 0) cannot be deleted.")
        other = LifecycleStage.ACTIVE if stage == LifecycleStage.DELETED else LifecycleStage.DELETED
        with self.db.write() as cur:
            row = cur.execute(
                "SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", (exp_id,)
            ).fetchone()
            if row is None:
                raise ResourceDoesNotExist(f"No experiment with id={experiment_id} exists.")
            if row[0] != other:
                raise InvalidParameterValue(
                    f"Experiment {experiment_id} is already {row[0]}; only a {other} experiment can be {stage}."
                )
            now = now_ms()
            cur.execute(
                "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?",
                (stage, now, exp_id),
            )
            cur.execute(
                "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ? AND lifecycle_stage = ?",
                (stage, now if stage == LifecycleStage.DELETED else None, exp_id, other),
            )

    def delete_experiment(self, experiment_id: str) -> None:
        self._set_experiment_stage(experiment_id, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        self._set_experiment_stage(experiment_id, LifecycleStage.ACTIVE)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        exp_id = v.validate_experiment_id(experiment_id)
        v.validate_experiment_name(new_name)
        try:
            with self.db.write() as cur:
                row = cur.execute(
                    "SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", (exp_id,)
                ).fetchone()
                if row is None:
                    raise ResourceDoesNotExist(f"No experiment with id={experiment_id} exists.")
                if row[0] != LifecycleStage.ACTIVE:
                    raise InvalidParameterValue(
                        f"Experiment {experiment_id} is deleted; restore it before renaming."
                    )
                clash = cur.execute(
                    "SELECT experiment_id FROM experiments WHERE name = ?", (new_name,)
                ).fetchone()
                if clash is not None and int(clash[0]) != exp_id:
                    raise ResourceAlreadyExists(f"Experiment '{new_name}' already exists.")
                cur.execute(
                    "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?",
                    (new_name, now_ms(), exp_id),
                )
        except Exception as exc:
            if self.db.is_integrity_error(exc):
                raise ResourceAlreadyExists(f"Experiment '{new_name}' already exists.") from None
            raise

    def _require_active_experiment(self, cur: Cursor, exp_id: int) -> tuple:
        row = cur.execute(
            "SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = ?", (exp_id,)
        ).fetchone()
        if row is None:
            raise ResourceDoesNotExist(f"No experiment with id={exp_id} exists.")
        if row[0] != LifecycleStage.ACTIVE:
            raise InvalidParameterValue(
                f"The experiment {exp_id} must be in the 'active' state; it is '{row[0]}'. Restore it first."
            )
        return row

    def set_experiment_tag(self, experiment_id: str, tag: RunTag) -> None:
        exp_id = v.validate_experiment_id(experiment_id)
        v.validate_key(tag.key, "tag key")
        value = v.validate_tag_value(tag.key, tag.value, v.MAX_EXPERIMENT_TAG_VAL_LENGTH, truncate=False)
        with self.db.write() as cur:
            self._require_active_experiment(cur, exp_id)
            cur.execute(
                _upsert_sql(self.db.dialect, "experiment_tags", ("experiment_id", "name"), ("value",)),
                (exp_id, tag.key, value),
            )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        exp_id = v.validate_experiment_id(experiment_id)
        with self.db.write() as cur:
            self._require_active_experiment(cur, exp_id)
            cur.execute("DELETE FROM experiment_tags WHERE experiment_id = ? AND name = ?", (exp_id, key))
            if cur.rowcount == 0:
                raise ResourceDoesNotExist(f"No tag with name '{key}' in experiment {experiment_id}.")

    # ------------------------------------------------------------ runs
    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int | None,
        tags: Sequence[RunTag],
        run_name: str | None,
    ) -> Run:
        exp_id = v.validate_experiment_id(experiment_id)
        tag_map: dict[str, str] = {}
        for tag in tags or ():
            v.validate_key(tag.key, "tag key")
            tag_map[tag.key] = v.validate_tag_value(tag.key, tag.value)
        tag_name = tag_map.get(RUN_NAME_TAG)
        if run_name and tag_name and run_name != tag_name:
            raise InvalidParameterValue(
                f"Both run_name ('{run_name}') and tag '{RUN_NAME_TAG}' ('{tag_name}') were given and differ;"
                " pass only one or make them equal."
            )
        run_name = run_name or tag_name or generate_run_name()
        if len(run_name) > v.MAX_RUN_NAME_LENGTH:
            raise InvalidParameterValue(
                f"Run name is {len(run_name)} characters long; the limit is {v.MAX_RUN_NAME_LENGTH}."
            )
        tag_map[RUN_NAME_TAG] = run_name
        run_id = uuid.uuid4().hex
        start = now_ms() if start_time is None else int(start_time)
        user_id = user_id or ""
        with self.db.write() as cur:
            _, location = self._require_active_experiment(cur, exp_id)
            artifact_uri = f"{location.rstrip('/')}/{run_id}/artifacts"
            cur.execute(
                f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    exp_id,
                    run_name,
                    user_id,
                    RunStatus.RUNNING,
                    start,
                    None,
                    artifact_uri,
                    LifecycleStage.ACTIVE,
                ),
            )
            cur.executemany(
                "INSERT INTO tags (run_id, name, value) VALUES (?, ?, ?)",
                [(run_id, k, val) for k, val in tag_map.items()],
            )
        info = RunInfo(
            run_id=run_id,
            experiment_id=str(exp_id),
            user_id=user_id,
            status=RunStatus.RUNNING,
            start_time=start,
            end_time=None,
            artifact_uri=artifact_uri,
            lifecycle_stage=LifecycleStage.ACTIVE,
            run_name=run_name,
        )
        return Run(info=info, data=RunData(params={}, tags=tag_map))

    def _load_runs(self, cur: Cursor, run_ids: Sequence[str]) -> dict[str, Run]:
        infos: dict[str, RunInfo] = {}
        metrics: dict[str, list[Metric]] = {}
        params: dict[str, dict[str, str]] = {}
        tags: dict[str, dict[str, str]] = {}
        datasets: dict[str, list[DatasetInput]] = {}
        model_in: dict[str, list[LoggedModelInput]] = {}
        model_out: dict[str, list[LoggedModelOutput]] = {}
        for chunk in _chunks(list(run_ids)):
            marks = _marks(len(chunk))
            for r in cur.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id IN ({marks})", chunk
            ).fetchall():
                infos[r[0]] = RunInfo(
                    run_id=r[0],
                    experiment_id=str(r[1]),
                    run_name=r[2],
                    user_id=r[3],
                    status=r[4],
                    start_time=int(r[5]),
                    end_time=None if r[6] is None else int(r[6]),
                    artifact_uri=r[7],
                    lifecycle_stage=r[8],
                )
            for r in cur.execute(
                f"SELECT run_id, {_METRIC_COLUMNS} FROM latest_metrics WHERE run_id IN ({marks})"
                " ORDER BY run_id, name",
                chunk,
            ).fetchall():
                metrics.setdefault(r[0], []).append(_metric_from_row(r[1:]))
            for r in cur.execute(
                f"SELECT run_id, name, value FROM params WHERE run_id IN ({marks})", chunk
            ).fetchall():
                params.setdefault(r[0], {})[r[1]] = r[2]
            for r in cur.execute(
                f"SELECT run_id, name, value FROM tags WHERE run_id IN ({marks})", chunk
            ).fetchall():
                tags.setdefault(r[0], {})[r[1]] = r[2]
            for r in cur.execute(
                "SELECT ri.run_id, ri.tags, d.name, d.digest, d.source_type, d.source, d.schema, d.profile"
                f" FROM run_inputs ri JOIN datasets d ON d.dataset_id = ri.dataset_id WHERE ri.run_id IN ({marks})",
                chunk,
            ).fetchall():
                input_tags = [InputTag(k, val) for k, val in json.loads(r[1]).items()]
                datasets.setdefault(r[0], []).append(DatasetInput(Dataset(*r[2:]), input_tags))
            for r in cur.execute(
                f"SELECT run_id, model_id, direction, step FROM run_models WHERE run_id IN ({marks})", chunk
            ).fetchall():
                if r[2] == "input":
                    model_in.setdefault(r[0], []).append(LoggedModelInput(r[1]))
                else:
                    model_out.setdefault(r[0], []).append(LoggedModelOutput(r[1], int(r[3])))
        runs: dict[str, Run] = {}
        for run_id, info in infos.items():
            runs[run_id] = Run(
                info=info,
                data=RunData(
                    metric_objs=metrics.get(run_id, []),
                    params=params.get(run_id, {}),
                    tags=tags.get(run_id, {}),
                ),
                inputs=RunInputs(datasets.get(run_id, []), model_in.get(run_id, [])),
                outputs=RunOutputs(model_out.get(run_id, [])),
            )
        return runs

    def get_run(self, run_id: str) -> Run:
        v.validate_run_id(run_id)
        with self.db.read() as cur:
            runs = self._load_runs(cur, [run_id])
        if run_id not in runs:
            raise ResourceDoesNotExist(f"Run with id={run_id} not found.")
        return runs[run_id]

    def _require_active_run(self, cur: Cursor, run_id: str) -> None:
        row = cur.execute("SELECT lifecycle_stage FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise ResourceDoesNotExist(f"Run with id={run_id} not found.")
        if row[0] != LifecycleStage.ACTIVE:
            raise InvalidParameterValue(
                f"The run {run_id} must be in the 'active' state; it is '{row[0]}'. Restore it before logging to it."
            )

    def update_run_info(
        self, run_id: str, run_status: str | None, end_time: int | None, run_name: str | None
    ) -> RunInfo:
        v.validate_run_id(run_id)
        sets: list[str] = []
        args: list[Any] = []
        if run_status is not None:
            sets.append("status = ?")
            args.append(RunStatus.validate(run_status))
        if end_time is not None:
            sets.append("end_time = ?")
            args.append(int(end_time))
        if run_name:
            if len(run_name) > v.MAX_RUN_NAME_LENGTH:
                raise InvalidParameterValue(f"Run name is longer than {v.MAX_RUN_NAME_LENGTH} characters.")
            sets.append("name = ?")
            args.append(run_name)
        with self.db.write() as cur:
            self._require_active_run(cur, run_id)
            if sets:
                cur.execute(f"UPDATE runs SET {', '.join(sets)} WHERE run_id = ?", (*args, run_id))
            if run_name:
                cur.execute(
                    _upsert_sql(self.db.dialect, "tags", ("run_id", "name"), ("value",)),
                    (run_id, RUN_NAME_TAG, run_name),
                )
            return self._load_runs(cur, [run_id])[run_id].info

    def _set_run_stage(self, run_id: str, stage: str) -> None:
        v.validate_run_id(run_id)
        with self.db.write() as cur:
            row = cur.execute(
                "SELECT r.lifecycle_stage, e.lifecycle_stage FROM runs r JOIN experiments e"
                " ON e.experiment_id = r.experiment_id WHERE r.run_id = ?",
                (run_id,),
            ).fetchone()
            if row is None:
                raise ResourceDoesNotExist(f"Run with id={run_id} not found.")
            if stage == LifecycleStage.ACTIVE and row[1] != LifecycleStage.ACTIVE:
                raise InvalidParameterValue(
                    f"Run {run_id} belongs to a deleted experiment; restore the experiment first."
                )
            cur.execute(
                "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_id = ?",
                (stage, now_ms() if stage == LifecycleStage.DELETED else None, run_id),
            )

    def delete_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.ACTIVE)

    def _write_metrics(self, cur: Cursor, run_id: str, rows: list[tuple]) -> None:
        dialect = self.db.dialect
        if dialect == "postgresql" and len(rows) >= _PG_UNNEST_MIN_ROWS:
            # One statement with one array per column: a single round of parsing and planning
            # on the server instead of one bind/execute per point.
            cur.execute(_PG_METRIC_INSERT_UNNEST, [list(col) for col in zip(*rows, strict=True)])
        else:
            cur.executemany(METRIC_INSERT[dialect], rows)
        linked = [row for row in rows if row[6] is not None]
        if linked:
            cur.executemany(MODEL_METRIC_INSERT[dialect], linked)
        latest: dict[str, tuple] = {}
        for row in rows:
            best = latest.get(row[1])
            if best is None or (row[2], row[3], row[4]) > (best[2], best[3], best[4]):
                latest[row[1]] = row
        cur.executemany(_LATEST_UPSERT[self.db.dialect], list(latest.values()))

    def log_metric(self, run_id: str, metric: Metric) -> None:
        row = _metric_row(run_id, metric)
        with self.db.write() as cur:
            self._require_active_run(cur, run_id)
            cur.execute(METRIC_INSERT[self.db.dialect], row)
            if row[6] is not None:
                cur.execute(MODEL_METRIC_INSERT[self.db.dialect], row)
            cur.execute(_LATEST_UPSERT[self.db.dialect], row)

    def _write_params(self, cur: Cursor, run_id: str, params: dict[str, str]) -> None:
        existing: dict[str, str] = {}
        keys = list(params)
        for chunk in _chunks(keys):
            existing.update(
                cur.execute(
                    f"SELECT name, value FROM params WHERE run_id = ? AND name IN ({_marks(len(chunk))})",
                    (run_id, *chunk),
                ).fetchall()
            )
        for key, value in params.items():
            if key in existing and existing[key] != value:
                raise InvalidParameterValue(
                    f"Changing param values is not allowed. Param with key='{key}' was already logged with"
                    f" value='{existing[key]}' for run ID='{run_id}'. Attempted logging new value '{value}'."
                )
        cur.executemany(
            "INSERT INTO params (run_id, name, value) VALUES (?, ?, ?)",
            [(run_id, k, val) for k, val in params.items() if k not in existing],
        )

    def log_param(self, run_id: str, param: Param) -> None:
        v.validate_key(param.key, "param name")
        value = v.validate_param_value(param.key, param.value)
        with self.db.write() as cur:
            self._require_active_run(cur, run_id)
            self._write_params(cur, run_id, {param.key: value})

    def _write_tags(self, cur: Cursor, run_id: str, tags: dict[str, str]) -> None:
        cur.executemany(
            _upsert_sql(self.db.dialect, "tags", ("run_id", "name"), ("value",)),
            [(run_id, k, val) for k, val in tags.items()],
        )
        if RUN_NAME_TAG in tags:
            cur.execute("UPDATE runs SET name = ? WHERE run_id = ?", (tags[RUN_NAME_TAG], run_id))

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        v.validate_key(tag.key, "tag key")
        value = v.validate_tag_value(tag.key, tag.value)
        with self.db.write() as cur:
            self._require_active_run(cur, run_id)
            self._write_tags(cur, run_id, {tag.key: value})

    def delete_tag(self, run_id: str, key: str) -> None:
        with self.db.write() as cur:
            self._require_active_run(cur, run_id)
            cur.execute("DELETE FROM tags WHERE run_id = ? AND name = ?", (run_id, key))
            if cur.rowcount == 0:
                raise ResourceDoesNotExist(f"No tag with name: {key} in run with id {run_id}")

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        v.validate_batch_sizes(len(metrics), len(params), len(tags))
        # Validate everything before writing anything: a failed batch writes nothing.
        metric_rows = _metric_rows(run_id, metrics)
        param_map: dict[str, str] = {}
        for p in params:
            v.validate_key(p.key, "param name")
            if p.key in param_map:
                raise InvalidParameterValue(
                    f"Duplicate parameter key '{p.key}' in one batch; each param may appear once per request."
                )
            param_map[p.key] = v.validate_param_value(p.key, p.value)
        tag_map: dict[str, str] = {}
        for t in tags:
            v.validate_key(t.key, "tag key")
            tag_map[t.key] = v.validate_tag_value(t.key, t.value)
        with self.db.write() as cur:
            self._require_active_run(cur, run_id)
            if param_map:
                self._write_params(cur, run_id, param_map)
            if tag_map:
                self._write_tags(cur, run_id, tag_map)
            if metric_rows:
                self._write_metrics(cur, run_id, metric_rows)

    def get_metric_history(
        self, run_id: str, metric_key: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Metric]:
        v.validate_run_id(run_id)
        # The key is known: fetching it 200,000 times over would only cost time.
        sql = (
            "SELECT value, kind, ts, step, model_id, dataset_name, dataset_digest FROM metrics"
            " WHERE run_id = ? AND name = ? ORDER BY step, ts"
        )
        args: list[Any] = [run_id, metric_key]
        offset = 0
        if max_results is not None or page_token:
            from labkeep import search

            offset = search.parse_page_token(page_token)
            if max_results is not None:
                if int(max_results) <= 0:
                    raise InvalidParameterValue(f"max_results must be a positive integer; got {max_results}.")
                sql += " LIMIT ? OFFSET ?"
                args += [int(max_results) + 1, offset]
            elif offset:
                sql += " LIMIT ? OFFSET ?"
                args += [2**62, offset]
        with self.db.read() as cur:
            rows = cur.execute(sql, args).fetchall()
            if not rows and not cur.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                raise ResourceDoesNotExist(f"Run with id={run_id} not found.")
        token = None
        if max_results is not None and len(rows) > int(max_results):
            from labkeep import search

            rows = rows[: int(max_results)]
            token = search.make_page_token(offset + int(max_results))
        return PagedList(_metrics_from_rows(rows, metric_key, run_id), token)

    def get_metric_history_bulk(
        self, run_ids: Sequence[str], metric_key: str, max_results: int = 25000
    ) -> list[Metric]:
        """History of one metric for several runs (UI charts); each metric carries its run_id."""
        out: list[Metric] = []
        with self.db.read() as cur:
            for run_id in run_ids:
                rows = cur.execute(
                    f"SELECT {_METRIC_COLUMNS} FROM metrics WHERE run_id = ? AND name = ? ORDER BY step, ts LIMIT ?",
                    (run_id, metric_key, int(max_results)),
                ).fetchall()
                out += [_metric_from_row(r, run_id) for r in rows]
        return out

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_RUNS_DEFAULT_MAX_RESULTS,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        from labkeep import search

        limit = search.validate_max_results("runs", max_results)
        offset = search.parse_page_token(page_token)
        exp_ids = [str(v.validate_experiment_id(e)) for e in experiment_ids]
        if not exp_ids:
            return PagedList([], None)
        self.db.refresh_statistics()
        sql, params = search.build_runs_query(
            exp_ids,
            LifecycleStage.for_view(ViewType.from_string(run_view_type)),
            filter_string,
            list(order_by or []),
            limit + 1,
            offset,
            self.db.dialect,
        )
        with self.db.read() as cur:
            ids = [r[0] for r in cur.execute(sql, params).fetchall()]
            runs = self._load_runs(cur, ids[:limit])
        token = search.make_page_token(offset + limit) if len(ids) > limit else None
        return PagedList([runs[i] for i in ids[:limit] if i in runs], token)

    # ------------------------------------------------------------ inputs / outputs
    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        for d in datasets or ():
            ds = d.dataset
            if not ds.name or len(ds.name) > v.MAX_DATASET_NAME_LENGTH:
                raise InvalidParameterValue(
                    f"Dataset name must be 1..{v.MAX_DATASET_NAME_LENGTH} characters."
                )
            if not ds.digest or len(ds.digest) > v.MAX_DATASET_DIGEST_LENGTH:
                raise InvalidParameterValue(
                    f"Dataset digest must be 1..{v.MAX_DATASET_DIGEST_LENGTH} characters."
                )
            for t in d.tags:
                if not t.key or len(t.key) > 255 or len(t.value or "") > 500:
                    raise InvalidParameterValue(
                        "Dataset input tag keys are limited to 255 and values to 500 characters."
                    )
        with self.db.write() as cur:
            self._require_active_run(cur, run_id)
            exp_id = cur.execute("SELECT experiment_id FROM runs WHERE run_id = ?", (run_id,)).one()[0]
            for d in datasets or ():
                ds = d.dataset
                row = cur.execute(
                    "SELECT dataset_id FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?",
                    (exp_id, ds.name, ds.digest),
                ).fetchone()
                if row is None:
                    dataset_id = uuid.uuid4().hex
                    cur.execute(
                        "INSERT INTO datasets (dataset_id, experiment_id, name, digest, source_type, source, schema,"
                        " profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            dataset_id,
                            exp_id,
                            ds.name,
                            ds.digest,
                            ds.source_type,
                            ds.source,
                            ds.schema,
                            ds.profile,
                        ),
                    )
                else:
                    dataset_id = row[0]
                tags = {t.key: t.value for t in d.tags}
                cur.execute(
                    _upsert_sql(self.db.dialect, "run_inputs", ("run_id", "dataset_id"), ("context", "tags")),
                    (run_id, dataset_id, tags.get("mlflow.data.context"), json.dumps(tags)),
                )
            for m in models or ():
                cur.execute(
                    _upsert_sql(
                        self.db.dialect, "run_models", ("run_id", "model_id", "direction"), ("step",)
                    ),
                    (run_id, m.model_id, "input", 0),
                )

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        with self.db.write() as cur:
            self._require_active_run(cur, run_id)
            for m in models:
                if not cur.execute(
                    "SELECT 1 FROM logged_models WHERE model_id = ?", (m.model_id,)
                ).fetchone():
                    raise ResourceDoesNotExist(f"Logged model with id={m.model_id} not found.")
                cur.execute(
                    _upsert_sql(
                        self.db.dialect, "run_models", ("run_id", "model_id", "direction"), ("step",)
                    ),
                    (run_id, m.model_id, "output", int(m.step)),
                )

    # ------------------------------------------------------------ logged models
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Sequence[RunTag] | None = None,
        params: Sequence[Param] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        exp_id = v.validate_experiment_id(experiment_id)
        if name is None or name == "":
            name = generate_run_name()
        if any(c in name for c in "/:.%\"'"):
            raise InvalidParameterValue(f"Invalid model name {name!r}: it must not contain / : . % \" or '.")
        tag_map = {}
        for t in tags or ():
            v.validate_key(t.key, "tag key")
            tag_map[t.key] = v.validate_tag_value(t.key, t.value)
        param_map = {}
        for p in params or ():
            v.validate_key(p.key, "param name")
            param_map[p.key] = v.validate_param_value(p.key, p.value)
        model_id = "m-" + uuid.uuid4().hex
        now = now_ms()
        with self.db.write() as cur:
            _, location = self._require_active_experiment(cur, exp_id)
            if source_run_id is not None:
                # as mlflow: the source run is recorded, not required to exist (nothing is read from it)
                v.validate_run_id(source_run_id)
            artifact_location = f"{location.rstrip('/')}/models/{model_id}/artifacts"
            cur.execute(
                "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp,"
                " last_updated_timestamp, status, lifecycle_stage, model_type, source_run_id, status_message)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    model_id,
                    exp_id,
                    name,
                    artifact_location,
                    now,
                    now,
                    LoggedModelStatus.to_int(LoggedModelStatus.PENDING),
                    LifecycleStage.ACTIVE,
                    model_type,
                    source_run_id,
                    None,
                ),
            )
            cur.executemany(
                "INSERT INTO logged_model_tags (model_id, name, value) VALUES (?, ?, ?)",
                [(model_id, k, val) for k, val in tag_map.items()],
            )
            cur.executemany(
                "INSERT INTO logged_model_params (model_id, name, value) VALUES (?, ?, ?)",
                [(model_id, k, val) for k, val in param_map.items()],
            )
            return self._load_logged_models(cur, [model_id])[model_id]

    def _load_logged_models(self, cur: Cursor, model_ids: Sequence[str]) -> dict[str, LoggedModel]:
        out: dict[str, LoggedModel] = {}
        for chunk in _chunks(list(model_ids)):
            marks = _marks(len(chunk))
            rows = cur.execute(
                "SELECT model_id, experiment_id, name, artifact_location, creation_timestamp, last_updated_timestamp,"
                f" status, model_type, source_run_id, status_message FROM logged_models WHERE model_id IN ({marks})",
                chunk,
            ).fetchall()
            tags: dict[str, dict[str, str]] = {}
            for mid, k, val in cur.execute(
                f"SELECT model_id, name, value FROM logged_model_tags WHERE model_id IN ({marks})", chunk
            ).fetchall():
                tags.setdefault(mid, {})[k] = val
            params: dict[str, dict[str, str]] = {}
            for mid, k, val in cur.execute(
                f"SELECT model_id, name, value FROM logged_model_params WHERE model_id IN ({marks})", chunk
            ).fetchall():
                params.setdefault(mid, {})[k] = val
            metrics: dict[str, list[Metric]] = {}
            for r in cur.execute(
                f"SELECT model_id, run_id, {_METRIC_COLUMNS} FROM model_metrics WHERE model_id IN ({marks})"
                " ORDER BY step, ts",
                chunk,
            ).fetchall():
                metrics.setdefault(r[0], []).append(_metric_from_row(r[2:], r[1]))
            for r in rows:
                out[r[0]] = LoggedModel(
                    model_id=r[0],
                    experiment_id=str(r[1]),
                    name=r[2],
                    artifact_location=r[3],
                    creation_timestamp=int(r[4]),
                    last_updated_timestamp=int(r[5]),
                    status=LoggedModelStatus.to_string(int(r[6])),
                    model_type=r[7],
                    source_run_id=r[8],
                    status_message=r[9],
                    tags=tags.get(r[0], {}),
                    params=params.get(r[0], {}),
                    metrics=metrics.get(r[0], []),
                )
        return out

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT lifecycle_stage FROM logged_models WHERE model_id = ?", (model_id,)
            ).fetchone()
            if row is None or (row[0] != LifecycleStage.ACTIVE and not allow_deleted):
                raise ResourceDoesNotExist(f"Logged model with ID '{model_id}' not found.")
            return self._load_logged_models(cur, [model_id])[model_id]

    def _require_logged_model(self, cur: Cursor, model_id: str) -> None:
        row = cur.execute(
            "SELECT lifecycle_stage FROM logged_models WHERE model_id = ?", (model_id,)
        ).fetchone()
        if row is None or row[0] != LifecycleStage.ACTIVE:
            raise ResourceDoesNotExist(f"Logged model with ID '{model_id}' not found.")

    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel:
        code = LoggedModelStatus.to_int(status)
        with self.db.write() as cur:
            self._require_logged_model(cur, model_id)
            cur.execute(
                "UPDATE logged_models SET status = ?, last_updated_timestamp = ? WHERE model_id = ?",
                (code, now_ms(), model_id),
            )
            return self._load_logged_models(cur, [model_id])[model_id]

    def set_logged_model_tags(self, model_id: str, tags: Sequence[RunTag]) -> None:
        rows = []
        for t in tags:
            v.validate_key(t.key, "tag key")
            rows.append((model_id, t.key, v.validate_tag_value(t.key, t.value)))
        with self.db.write() as cur:
            self._require_logged_model(cur, model_id)
            cur.executemany(
                _upsert_sql(self.db.dialect, "logged_model_tags", ("model_id", "name"), ("value",)), rows
            )

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        with self.db.write() as cur:
            self._require_logged_model(cur, model_id)
            cur.execute("DELETE FROM logged_model_tags WHERE model_id = ? AND name = ?", (model_id, key))
            if cur.rowcount == 0:
                raise ResourceDoesNotExist(f"No tag with key '{key}' on logged model {model_id}.")

    def log_logged_model_params(self, model_id: str, params: Sequence[Param]) -> None:
        rows = []
        for p in params:
            v.validate_key(p.key, "param name")
            rows.append((model_id, p.key, v.validate_param_value(p.key, p.value)))
        with self.db.write() as cur:
            self._require_logged_model(cur, model_id)
            cur.executemany(
                _upsert_sql(self.db.dialect, "logged_model_params", ("model_id", "name"), ("value",)), rows
            )

    def delete_logged_model(self, model_id: str) -> None:
        with self.db.write() as cur:
            self._require_logged_model(cur, model_id)
            cur.execute(
                "UPDATE logged_models SET lifecycle_stage = ?, last_updated_timestamp = ? WHERE model_id = ?",
                (LifecycleStage.DELETED, now_ms(), model_id),
            )

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[dict] | None = None,
        max_results: int | None = None,
        order_by: Sequence[dict] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        from labkeep import search

        exp_ids = [str(v.validate_experiment_id(e)) for e in experiment_ids]
        limit = search.validate_max_results("logged_models", max_results)
        offset = search.parse_logged_models_page_token(page_token, exp_ids, filter_string, order_by)
        sql, params = search.build_logged_models_query(
            exp_ids,
            filter_string,
            list(datasets or []),
            list(order_by or []),
            limit + 1,
            offset,
            self.db.dialect,
        )
        with self.db.read() as cur:
            ids = [r[0] for r in cur.execute(sql, params).fetchall()]
            found = self._load_logged_models(cur, ids[:limit])
        token = None
        if len(ids) > limit:
            token = search.make_logged_models_page_token(offset + limit, exp_ids, filter_string, order_by)
        return PagedList([found[i] for i in ids[:limit]], token)
