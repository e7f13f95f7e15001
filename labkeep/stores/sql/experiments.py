"""Experiments in the SQL tracking store: create, read, search, rename, delete, tags."""

from __future__ import annotations

from collections.abc import Sequence

from labkeep.entities import Experiment, LifecycleStage, PagedList, RunTag, ViewType
from labkeep.exceptions import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from labkeep.stores.base import SEARCH_EXPERIMENTS_DEFAULT_MAX_RESULTS
from labkeep.stores.sql.db import Cursor, Row, chunks, placeholders, upsert_sql
from labkeep.stores.sql.tracking_core import SqlStoreCore
from labkeep.utils import validation as v
from labkeep.utils.clock import now_ms


class ExperimentsMixin(SqlStoreCore):
    """Experiment rows and their tags."""

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
        rows: list[Row] = []
        tag_rows: list[Row] = []
        for chunk in chunks(list(exp_ids)):
            marks = placeholders(len(chunk))
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
            current = _experiment_stage(cur, exp_id, experiment_id)
            if current != other:
                raise InvalidParameterValue(
                    f"Experiment {experiment_id} is already {current}; only a {other} experiment can be {stage}."
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
                if _experiment_stage(cur, exp_id, experiment_id) != LifecycleStage.ACTIVE:
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


    def set_experiment_tag(self, experiment_id: str, tag: RunTag) -> None:
        exp_id = v.validate_experiment_id(experiment_id)
        v.validate_key(tag.key, "tag key")
        value = v.validate_tag_value(tag.key, tag.value, v.MAX_EXPERIMENT_TAG_VAL_LENGTH, truncate=False)
        with self.db.write() as cur:
            self._require_active_experiment(cur, exp_id)
            cur.execute(
                upsert_sql(self.db.dialect, "experiment_tags", ("experiment_id", "name"), ("value",)),
                (exp_id, tag.key, value),
            )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        exp_id = v.validate_experiment_id(experiment_id)
        with self.db.write() as cur:
            self._require_active_experiment(cur, exp_id)
            cur.execute("DELETE FROM experiment_tags WHERE experiment_id = ? AND name = ?", (exp_id, key))
            if cur.rowcount == 0:
                raise ResourceDoesNotExist(f"No tag with name '{key}' in experiment {experiment_id}.")


def _experiment_stage(cur: Cursor, exp_id: int, experiment_id: str) -> str:
    """The lifecycle stage of an experiment; RESOURCE_DOES_NOT_EXIST when there is none."""
    row = cur.execute("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", (exp_id,)).fetchone()
    if row is None:
        raise ResourceDoesNotExist(f"No experiment with id={experiment_id} exists.")
    return str(row[0])
