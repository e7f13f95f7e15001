"""Reader for MLflow's own SQL schema (SQLite, PostgreSQL, MySQL/MariaDB), read directly.

Works on the schema revisions MLflow 2.x and 3.x leave: optional tables and columns (workspaces,
inputs, logged models, aliases, ``deleted_time``…) are looked up once and used when present.
Rows are read through the DBAPI connection in chunks of runs, so a big history streams.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

from labkeep.transfer.base import Source
from labkeep.transfer.points import StoredPoints
from labkeep.transfer.records import Problem, run_status

RUN_CHUNK = 200
# Infinities are stored as the largest double with their kind (see encode_metric_value).
_DOUBLE_MAX = "1.7976931348623157e308"
_REQUIRED = {
    "experiments": {"experiment_id", "name", "artifact_location", "lifecycle_stage"},
    "runs": {
        "run_uuid",
        "experiment_id",
        "status",
        "start_time",
        "end_time",
        "artifact_uri",
        "lifecycle_stage",
    },
    "metrics": {"key", "value", "timestamp", "run_uuid"},
    "params": {"key", "value", "run_uuid"},
    "tags": {"key", "value", "run_uuid"},
}


class NotAnMlflowDatabase(Exception):
    """The database lacks the tables or columns of MLflow's schema."""


class MlflowDatabaseSource(Source):
    """Experiments, runs, logged models and the registry of an MLflow tracking database."""

    def __init__(self, uri: str) -> None:
        from sqlalchemy import create_engine, inspect

        from labkeep.stores.sql.db import normalize_sqlalchemy_uri

        self.uri = uri
        shown = uri.rsplit("@", 1)[-1] if "@" in uri else uri
        self.engine = create_engine(normalize_sqlalchemy_uri(uri) if not uri.startswith("sqlite") else uri)
        try:
            insp = inspect(self.engine)
            names = set(insp.get_table_names())
        except Exception as exc:
            raise NotAnMlflowDatabase(f"cannot open {shown}: {str(exc).splitlines()[0]}") from None
        self.columns: dict[str, set[str]] = {}
        for table in names:
            if table in _REQUIRED or table in _OPTIONAL_TABLES:
                self.columns[table] = {c["name"] for c in insp.get_columns(table)}
        for table, needed in _REQUIRED.items():
            missing = needed - self.columns.get(table, set())
            if table not in self.columns or missing:
                what = (
                    f"table {table!r}"
                    if table not in self.columns
                    else f"columns {sorted(missing)} of {table!r}"
                )
                raise NotAnMlflowDatabase(
                    f"{shown} is not an MLflow tracking database (or an unknown schema revision): it lacks {what}"
                )
        self.revision = self._revision(names)
        self.description = f"MLflow database {shown} (schema revision {self.revision or 'unknown'})"
        self._dialect = self.engine.dialect.name
        self._quote = self.engine.dialect.identifier_preparer.quote
        self._mark = "?" if self._dialect == "sqlite" else "%s"
        self._raw = self.engine.raw_connection()

    def _revision(self, names: set[str]) -> str | None:
        if "alembic_version" not in names:
            return None
        with self.engine.connect() as conn:
            from sqlalchemy import text

            row = conn.execute(text("SELECT version_num FROM alembic_version")).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            self.engine.dispose()

    # ------------------------------------------------------------ helpers
    def _has(self, table: str, column: str | None = None) -> bool:
        cols = self.columns.get(table)
        return cols is not None and (column is None or column in cols)

    def _select(
        self, table: str, cols: Sequence[str], where: str = "", params: Sequence[Any] = ()
    ) -> list[tuple]:
        q = self._quote
        present = self.columns[table]
        fields = ", ".join(q(c) if c in present else "NULL" for c in cols)
        sql = f"SELECT {fields} FROM {q(table)}"
        if where:
            sql += " WHERE " + where.replace("?", self._mark)
        cur = self._raw.cursor()
        try:
            cur.execute(sql, tuple(params))
            return list(cur.fetchall())
        finally:
            cur.close()

    def _in(self, column: str, n: int) -> str:
        return f"{self._quote(column)} IN ({', '.join('?' * n)})"

    def _workspace_clause(self, table: str) -> str:
        return f" AND {self._quote('workspace')} = 'default'" if self._has(table, "workspace") else ""

    # ------------------------------------------------------------ experiments
    def experiments(self) -> list[dict[str, Any] | Problem]:
        where = "1 = 1" + self._workspace_clause("experiments")
        rows = self._select(
            "experiments",
            (
                "experiment_id",
                "name",
                "artifact_location",
                "lifecycle_stage",
                "creation_time",
                "last_update_time",
            ),
            where,
        )
        tags: dict[str, dict[str, str]] = {}
        if self._has("experiment_tags"):
            for exp_id, key, value in self._select("experiment_tags", ("experiment_id", "key", "value")):
                tags.setdefault(str(exp_id), {})[key] = value or ""
        return [
            {
                "experiment_id": str(r[0]),
                "name": r[1],
                "artifact_location": r[2] or "",
                "lifecycle_stage": r[3] or "active",
                "creation_time": r[4],
                "last_update_time": r[5],
                "tags": tags.get(str(r[0]), {}),
            }
            for r in rows
        ]

    def count_runs(self, experiment_id: str) -> int:
        return self._select("runs", ("run_uuid",), "experiment_id = ?", (int(experiment_id),)).__len__()

    # ------------------------------------------------------------ runs
    def runs(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        ids = [
            r[0]
            for r in self._select(
                "runs",
                ("run_uuid",),
                "experiment_id = ? ORDER BY start_time, run_uuid",
                (int(experiment_id),),
            )
        ]
        datasets = self._datasets(experiment_id)
        for i in range(0, len(ids), RUN_CHUNK):
            yield from self._run_chunk(ids[i : i + RUN_CHUNK], experiment_id, datasets)

    def _run_chunk(
        self, ids: list[str], experiment_id: str, datasets: dict[str, dict]
    ) -> Iterator[dict | Problem]:
        where = self._in("run_uuid", len(ids))
        rows = self._select(
            "runs",
            (
                "run_uuid",
                "name",
                "user_id",
                "status",
                "start_time",
                "end_time",
                "deleted_time",
                "artifact_uri",
                "lifecycle_stage",
            ),
            where,
            ids,
        )
        params: dict[str, dict[str, str]] = {}
        for key, value, rid in self._select("params", ("key", "value", "run_uuid"), where, ids):
            params.setdefault(rid, {})[key] = value
        tags: dict[str, dict[str, str]] = {}
        for key, value, rid in self._select("tags", ("key", "value", "run_uuid"), where, ids):
            tags.setdefault(rid, {})[key] = value or ""
        metrics = self._metric_rows(where, ids)
        inputs, outputs, model_inputs = self._inputs(ids, datasets)
        for r in rows:
            rid = r[0]
            try:
                status = run_status(r[3])
            except ValueError as exc:
                yield Problem("run", rid, str(exc))
                continue
            rtags = tags.get(rid, {})
            yield {
                "run_id": rid,
                "experiment_id": experiment_id,
                "name": r[1] or rtags.get("mlflow.runName") or "",
                "user_id": r[2] or "",
                "status": status,
                "start_time": r[4],
                "end_time": r[5],
                "deleted_time": r[6],
                "artifact_uri": r[7] or "",
                "lifecycle_stage": r[8] or "active",
                "params": params.get(rid, {}),
                "tags": rtags,
                "metrics": metrics.get(rid) or StoredPoints([]),
                "inputs": inputs.get(rid, []),
                "outputs": outputs.get(rid, []),
                "model_inputs": model_inputs.get(rid, []),
            }

    def _metric_rows(self, where: str, ids: list[str]) -> dict[str, StoredPoints]:
        """The chunk's points per run, selected already in labkeep's stored row form.

        The database does the per-point work (NaN and infinities as labkeep stores them) and the
        rows come ordered by run, so they are only cut into runs here.
        """
        q, big = self._quote, _DOUBLE_MAX
        is_nan = q("is_nan") if self._has("metrics", "is_nan") else "0"
        step = f"COALESCE({q('step')}, 0)" if self._has("metrics", "step") else "0"
        value = q("value")
        sql = (
            f"SELECT {q('run_uuid')}, {q('key')}, {step}, {q('timestamp')},"
            f" CASE WHEN {is_nan} THEN 0.0 WHEN {value} > {big} THEN {big}"
            f" WHEN {value} < -{big} THEN -{big} ELSE {value} END,"
            f" CASE WHEN {is_nan} THEN 1 WHEN {value} > {big} THEN 2 WHEN {value} < -{big} THEN 3 ELSE 0 END,"
            f" NULL, NULL, NULL FROM {q('metrics')} WHERE {where.replace('?', self._mark)} ORDER BY 1"
        )
        cur = self._raw.cursor()
        try:
            cur.execute(sql, tuple(ids))
            rows = cur.fetchall()
        finally:
            cur.close()
        if rows and not isinstance(rows[0], tuple):  # drivers that return their own row type
            rows = [tuple(r) for r in rows]
        return {rid: StoredPoints(list(group)) for rid, group in groupby(rows, itemgetter(0))}

    def _datasets(self, experiment_id: str) -> dict[str, dict[str, Any]]:
        if not self._has("datasets"):
            return {}
        rows = self._select(
            "datasets",
            (
                "dataset_uuid",
                "name",
                "digest",
                "dataset_source_type",
                "dataset_source",
                "dataset_schema",
                "dataset_profile",
            ),
            "experiment_id = ?",
            (int(experiment_id),),
        )
        return {
            r[0]: {
                "name": r[1],
                "digest": r[2],
                "source_type": r[3],
                "source": r[4],
                "schema": r[5],
                "profile": r[6],
            }
            for r in rows
        }

    def _inputs(self, ids: list[str], datasets: dict[str, dict]) -> tuple[dict, dict, dict]:
        inputs: dict[str, list] = {}
        outputs: dict[str, list] = {}
        model_inputs: dict[str, list] = {}
        if not self._has("inputs"):
            return inputs, outputs, model_inputs
        marks = ", ".join("?" * len(ids))
        rows = self._select(
            "inputs",
            ("input_uuid", "source_type", "source_id", "destination_type", "destination_id", "step"),
            f"destination_id IN ({marks}) OR source_id IN ({marks})",
            [*ids, *ids],
        )
        input_tags: dict[str, dict[str, str]] = {}
        uuids = [r[0] for r in rows if r[1] == "DATASET"]
        if uuids and self._has("input_tags"):
            for i in range(0, len(uuids), 500):
                part = uuids[i : i + 500]
                for uid, name, value in self._select(
                    "input_tags", ("input_uuid", "name", "value"), self._in("input_uuid", len(part)), part
                ):
                    input_tags.setdefault(uid, {})[name] = value
        for uid, stype, sid, dtype, did, step in rows:
            if stype == "DATASET" and dtype == "RUN" and sid in datasets:
                inputs.setdefault(did, []).append({"dataset": datasets[sid], "tags": input_tags.get(uid, {})})
            elif stype == "RUN_OUTPUT" and dtype == "MODEL_OUTPUT":
                outputs.setdefault(sid, []).append({"model_id": did, "step": int(step or 0)})
            elif stype == "RUN_INPUT" and dtype == "MODEL_INPUT":
                model_inputs.setdefault(sid, []).append(did)
        return inputs, outputs, model_inputs

    # ------------------------------------------------------------ logged models
    def logged_models(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        if not self._has("logged_models"):
            return
        rows = self._select(
            "logged_models",
            (
                "model_id",
                "name",
                "artifact_location",
                "creation_timestamp_ms",
                "last_updated_timestamp_ms",
                "status",
                "lifecycle_stage",
                "model_type",
                "source_run_id",
                "status_message",
            ),
            "experiment_id = ?",
            (int(experiment_id),),
        )
        for r in rows:
            mid = r[0]
            params = {k: v for k, v in self._kv("logged_model_params", ("param_key", "param_value"), mid)}
            tags = {k: v for k, v in self._kv("logged_model_tags", ("tag_key", "tag_value"), mid)}
            metrics = []
            if self._has("logged_model_metrics"):
                for name, ts, step, value, run_id, ds_name, ds_digest in self._select(
                    "logged_model_metrics",
                    (
                        "metric_name",
                        "metric_timestamp_ms",
                        "metric_step",
                        "metric_value",
                        "run_id",
                        "dataset_name",
                        "dataset_digest",
                    ),
                    "model_id = ?",
                    (mid,),
                ):
                    metrics.append(
                        [
                            name,
                            math.nan if value is None else float(value),
                            int(ts),
                            int(step),
                            run_id,
                            ds_name,
                            ds_digest,
                        ]
                    )
            yield {
                "model_id": mid,
                "experiment_id": experiment_id,
                "name": r[1],
                "artifact_location": r[2],
                "creation_timestamp": r[3],
                "last_updated_timestamp": r[4],
                "status": int(r[5] or 0),
                "lifecycle_stage": r[6] or "active",
                "model_type": r[7],
                "source_run_id": r[8],
                "status_message": r[9],
                "params": params,
                "tags": tags,
                "metrics": metrics,
            }

    def _kv(self, table: str, cols: tuple[str, str], model_id: str) -> list[tuple]:
        if not self._has(table):
            return []
        return self._select(table, cols, "model_id = ?", (model_id,))

    def traces(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        from labkeep.transfer.traces import database_traces

        return database_traces(self, experiment_id)

    # ------------------------------------------------------------ registry
    def registered_models(self) -> Iterator[dict[str, Any] | Problem]:
        if not self._has("registered_models"):
            return
        ws = self._workspace_clause("registered_models")
        models = self._select(
            "registered_models", ("name", "creation_time", "last_updated_time", "description"), "1 = 1" + ws
        )
        versions: dict[str, list] = {}
        if self._has("model_versions"):
            for r in self._select(
                "model_versions",
                (
                    "name",
                    "version",
                    "creation_time",
                    "last_updated_time",
                    "description",
                    "user_id",
                    "current_stage",
                    "source",
                    "storage_location",
                    "run_id",
                    "run_link",
                    "status",
                    "status_message",
                ),
                "1 = 1" + self._workspace_clause("model_versions"),
            ):
                versions.setdefault(r[0], []).append(r)
        mv_tags: dict[tuple, dict[str, str]] = {}
        if self._has("model_version_tags"):
            for key, value, name, version in self._select(
                "model_version_tags",
                ("key", "value", "name", "version"),
                "1 = 1" + self._workspace_clause("model_version_tags"),
            ):
                mv_tags.setdefault((name, int(version)), {})[key] = value or ""
        rm_tags: dict[str, dict[str, str]] = {}
        if self._has("registered_model_tags"):
            for key, value, name in self._select(
                "registered_model_tags",
                ("key", "value", "name"),
                "1 = 1" + self._workspace_clause("registered_model_tags"),
            ):
                rm_tags.setdefault(name, {})[key] = value or ""
        aliases: dict[str, dict[str, int]] = {}
        if self._has("registered_model_aliases"):
            for alias, version, name in self._select(
                "registered_model_aliases",
                ("alias", "version", "name"),
                "1 = 1" + self._workspace_clause("registered_model_aliases"),
            ):
                aliases.setdefault(name, {})[alias] = int(version)
        for name, created, updated, description in models:
            out_versions = []
            for r in sorted(versions.get(name, []), key=lambda r: int(r[1])):
                source = r[7] or ""
                out_versions.append(
                    {
                        "version": int(r[1]),
                        "creation_time": r[2],
                        "last_updated_time": r[3],
                        "description": r[4],
                        "user_id": r[5],
                        "current_stage": r[6] or "None",
                        "source": source,
                        "storage_location": r[8],
                        "run_id": r[9] or None,
                        "run_link": r[10],
                        "model_id": source[len("models:/") :] if source.startswith("models:/m-") else None,
                        "status": r[11] or "READY",
                        "status_message": r[12],
                        "tags": mv_tags.get((name, int(r[1])), {}),
                    }
                )
            yield {
                "name": name,
                "creation_time": created,
                "last_updated_time": updated,
                "description": description,
                "tags": rm_tags.get(name, {}),
                "aliases": aliases.get(name, {}),
                "versions": out_versions,
            }


_OPTIONAL_TABLES = {
    "experiment_tags",
    "datasets",
    "inputs",
    "input_tags",
    "logged_models",
    "logged_model_params",
    "logged_model_tags",
    "logged_model_metrics",
    "trace_info",
    "trace_tags",
    "trace_request_metadata",
    "spans",
    "registered_models",
    "model_versions",
    "registered_model_tags",
    "model_version_tags",
    "registered_model_aliases",
}
