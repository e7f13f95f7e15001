"""Logged models in the SQL tracking store: create, finalize, tags, params, delete, search."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from labkeep.entities import LifecycleStage, LoggedModel, LoggedModelStatus, Metric, PagedList, Param, RunTag
from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.stores.sql.db import Cursor, chunks, placeholders, upsert_sql
from labkeep.stores.sql.metric_rows import METRIC_COLUMNS, metric_from_row
from labkeep.stores.sql.tracking_core import SqlStoreCore
from labkeep.utils import validation as v
from labkeep.utils.clock import now_ms
from labkeep.utils.names import generate_run_name


class LoggedModelsMixin(SqlStoreCore):
    """Logged models (mlflow 3's model entities) with their tags, params and metrics."""

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
        for chunk in chunks(list(model_ids)):
            marks = placeholders(len(chunk))
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
                f"SELECT model_id, run_id, {METRIC_COLUMNS} FROM model_metrics WHERE model_id IN ({marks})"
                " ORDER BY step, ts",
                chunk,
            ).fetchall():
                metrics.setdefault(r[0], []).append(metric_from_row(r[2:], r[1]))
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
        values = {t.key: v.validate_tag_value(v.validate_key(t.key, "tag key"), t.value) for t in tags}
        self._put_model_values("logged_model_tags", model_id, values)

    def _put_model_values(self, table: str, model_id: str, values: dict[str, str]) -> None:
        """Insert or overwrite validated name/value rows of a logged model's tags or params."""
        with self.db.write() as cur:
            self._require_logged_model(cur, model_id)
            cur.executemany(
                upsert_sql(self.db.dialect, table, ("model_id", "name"), ("value",)),
                [(model_id, k, val) for k, val in values.items()],
            )

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        with self.db.write() as cur:
            self._require_logged_model(cur, model_id)
            cur.execute("DELETE FROM logged_model_tags WHERE model_id = ? AND name = ?", (model_id, key))
            if cur.rowcount == 0:
                raise ResourceDoesNotExist(f"No tag with key '{key}' on logged model {model_id}.")

    def log_logged_model_params(self, model_id: str, params: Sequence[Param]) -> None:
        values = {p.key: v.validate_param_value(v.validate_key(p.key, "param name"), p.value) for p in params}
        self._put_model_values("logged_model_params", model_id, values)

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
        datasets: Sequence[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: Sequence[dict[str, Any]] | None = None,
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
