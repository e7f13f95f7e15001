"""Runs in the SQL tracking store: create, read, update, delete, params, tags, search, inputs and outputs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from labkeep.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LifecycleStage,
    LoggedModelInput,
    LoggedModelOutput,
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
from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.stores.base import SEARCH_RUNS_DEFAULT_MAX_RESULTS
from labkeep.stores.sql.db import Cursor, chunks, placeholders, upsert_sql
from labkeep.stores.sql.metric_rows import METRIC_COLUMNS, metric_from_row
from labkeep.stores.sql.tracking_core import RUN_NAME_TAG, SqlStoreCore
from labkeep.utils import validation as v
from labkeep.utils.clock import now_ms
from labkeep.utils.names import generate_run_name

_RUN_COLUMNS = (
    "run_id, experiment_id, name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage"
)


class RunsMixin(SqlStoreCore):
    """Run rows with their params, tags, dataset inputs and model inputs/outputs."""

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
        postgres = self.db.dialect == "postgresql"
        for chunk in chunks(list(run_ids)):
            # PostgreSQL: one parameter keeps each statement's text the same for any number of
            # runs, so psycopg parses it once and the server may prepare it (an IN list of 100
            # marks was parsed anew on every call: about 0.2 ms a statement). The ids go as one
            # comma-joined text (run ids hold no commas): psycopg's list dumper runs a regex per
            # element, about 1 ms for six statements of 100 ids.
            joined = ",".join(chunk)
            ids: list[Any]
            if postgres and joined.count(",") == len(chunk) - 1:
                match, ids = "= ANY(string_to_array(?, ','))", [joined]
            elif postgres:
                match, ids = "= ANY(CAST(? AS text[]))", [list(chunk)]
            else:
                match, ids = f"IN ({placeholders(len(chunk))})", list(chunk)
            run_rows, latest_metric_rows, param_rows, tag_rows, input_rows, model_rows = cur.fetch_each(
                [
                    (f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id {match}", ids),
                    (
                        f"SELECT run_id, {METRIC_COLUMNS} FROM latest_metrics WHERE run_id {match}"
                        " ORDER BY run_id, name",
                        ids,
                    ),
                    (f"SELECT run_id, name, value FROM params WHERE run_id {match}", ids),
                    (f"SELECT run_id, name, value FROM tags WHERE run_id {match}", ids),
                    (
                        "SELECT ri.run_id, ri.tags, d.name, d.digest, d.source_type, d.source, d.schema, d.profile"
                        " FROM run_inputs ri JOIN datasets d ON d.dataset_id = ri.dataset_id"
                        f" WHERE ri.run_id {match}",
                        ids,
                    ),
                    (f"SELECT run_id, model_id, direction, step FROM run_models WHERE run_id {match}", ids),
                ]
            )
            for r in run_rows:
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
            for r in latest_metric_rows:
                metrics.setdefault(r[0], []).append(metric_from_row(r[1:]))
            for r in param_rows:
                params.setdefault(r[0], {})[r[1]] = r[2]
            for r in tag_rows:
                tags.setdefault(r[0], {})[r[1]] = r[2]
            for r in input_rows:
                input_tags = [InputTag(k, val) for k, val in json.loads(r[1]).items()]
                datasets.setdefault(r[0], []).append(DatasetInput(Dataset(*r[2:]), input_tags))
            for r in model_rows:
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
                    upsert_sql(self.db.dialect, "tags", ("run_id", "name"), ("value",)),
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

    def _write_params(self, cur: Cursor, run_id: str, params: dict[str, str]) -> None:
        existing: dict[str, str] = {}
        keys = list(params)
        for chunk in chunks(keys):
            existing.update(
                cur.execute(
                    f"SELECT name, value FROM params WHERE run_id = ? AND name IN ({placeholders(len(chunk))})",
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
            upsert_sql(self.db.dialect, "tags", ("run_id", "name"), ("value",)),
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
                link_dataset_input(
                    cur,
                    self.db.dialect,
                    run_id,
                    exp_id,
                    (ds.name, ds.digest, ds.source_type, ds.source, ds.schema, ds.profile),
                    {t.key: t.value for t in d.tags},
                )
            for m in models or ():
                cur.execute(
                    upsert_sql(
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
                    upsert_sql(
                        self.db.dialect, "run_models", ("run_id", "model_id", "direction"), ("step",)
                    ),
                    (run_id, m.model_id, "output", int(m.step)),
                )


def link_dataset_input(
    cur: Cursor, dialect: str, run_id: str, experiment_id: Any, dataset: tuple[Any, ...], tags: dict[str, str]
) -> None:
    """Record ``dataset`` (name, digest, source_type, source, schema, profile) as an input of the
    run, creating the experiment's dataset row the first time (name and digest identify it)."""
    name, digest = dataset[0], dataset[1]
    row = cur.execute(
        "SELECT dataset_id FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?",
        (experiment_id, name, digest),
    ).fetchone()
    if row is None:
        dataset_id = uuid.uuid4().hex
        cur.execute(
            "INSERT INTO datasets (dataset_id, experiment_id, name, digest, source_type, source, schema,"
            " profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (dataset_id, experiment_id, *dataset),
        )
    else:
        dataset_id = row[0]
    cur.execute(
        upsert_sql(dialect, "run_inputs", ("run_id", "dataset_id"), ("context", "tags")),
        (run_id, dataset_id, tags.get("mlflow.data.context"), json.dumps(tags)),
    )
