"""Registered models in the SQL model registry: create, update, rename, delete, search, tags."""

from __future__ import annotations

from collections.abc import Sequence

from labkeep.entities import ModelVersion, PagedList, RegisteredModel, RegisteredModelTag
from labkeep.exceptions import ResourceAlreadyExists, ResourceDoesNotExist
from labkeep.registry.stages import canonical_stage
from labkeep.registry.store import SEARCH_REGISTERED_MODELS_DEFAULT_MAX_RESULTS, current_user
from labkeep.registry.validation import (
    validate_description,
    validate_model_name,
    validate_tag,
    validate_tag_key,
)
from labkeep.stores.sql.registry_core import SqlRegistryCore, now_ms
from labkeep.stores.sql.registry_core import tag_rows as validated_tags


class RegisteredModelsMixin(SqlRegistryCore):
    """Registered model rows and their tags."""

    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        validate_model_name(name)
        description = validate_description(description)
        tag_rows = validated_tags(tags)
        now = now_ms()
        try:
            with self.db.write() as cur:
                if cur.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone():
                    raise ResourceAlreadyExists(f"Registered Model (name={name}) already exists.")
                cur.execute(
                    "INSERT INTO registered_models (name, creation_time, last_updated_time, description, "
                    "user_id) VALUES (?, ?, ?, ?, ?)",
                    (name, now, now, description, current_user()),
                )
                cur.executemany(
                    "INSERT INTO registered_model_tags (model_name, name, value) VALUES (?, ?, ?)",
                    [(name, k, v) for k, v in tag_rows.items()],
                )
                return self._get_model(cur, name)
        except Exception as exc:
            if self.db.is_integrity_error(exc):  # a concurrent create of the same name won
                raise ResourceAlreadyExists(f"Registered Model (name={name}) already exists.") from None
            raise

    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        validate_model_name(name)
        description = validate_description(description)
        with self.db.write() as cur:
            self._lock_model(cur, name)
            cur.execute(
                "UPDATE registered_models SET description = ?, last_updated_time = ? WHERE name = ?",
                (description, now_ms(), name),
            )
            return self._get_model(cur, name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        validate_model_name(name)
        validate_model_name(new_name, "New registered model name")
        try:
            with self.db.write() as cur:
                self._lock_model(cur, name)
                if (
                    new_name != name
                    and cur.execute("SELECT 1 FROM registered_models WHERE name = ?", (new_name,)).fetchone()
                ):
                    raise ResourceAlreadyExists(f"Registered Model (name={new_name}) already exists.")
                cur.execute(
                    "UPDATE registered_models SET name = ?, last_updated_time = ? WHERE name = ?",
                    (new_name, now_ms(), name),
                )
                for table in (
                    "registered_model_tags",
                    "model_versions",
                    "model_version_tags",
                    "registered_model_aliases",
                    "registry_events",
                ):
                    cur.execute(f"UPDATE {table} SET model_name = ? WHERE model_name = ?", (new_name, name))
                return self._get_model(cur, new_name)
        except Exception as exc:
            if self.db.is_integrity_error(exc):
                raise ResourceAlreadyExists(f"Registered Model (name={new_name}) already exists.") from None
            raise

    def delete_registered_model(self, name: str) -> None:
        validate_model_name(name)
        with self.db.write() as cur:
            self._lock_model(cur, name)
            for table in (
                "registered_model_tags",
                "model_versions",
                "model_version_tags",
                "registered_model_aliases",
            ):
                cur.execute(f"DELETE FROM {table} WHERE model_name = ?", (name,))
            cur.execute("DELETE FROM registered_models WHERE name = ?", (name,))
            # The promotion history stays; a marker says when the model went away.
            self._record(cur, name, None, "model_deleted", None, None, now_ms())

    def get_registered_model(self, name: str) -> RegisteredModel:
        validate_model_name(name)
        with self.db.read() as cur:
            return self._get_model(cur, name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = SEARCH_REGISTERED_MODELS_DEFAULT_MAX_RESULTS,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        from labkeep.search import (
            build_registered_models_query,
            make_page_token,
            parse_page_token,
            validate_max_results,
        )

        max_results = validate_max_results("registered_models", max_results)
        offset = parse_page_token(page_token)
        sql, params = build_registered_models_query(
            filter_string, list(order_by or []), max_results + 1, offset, self.db.dialect
        )
        with self.db.read() as cur:
            names = [r[0] for r in cur.execute(sql, params).fetchall()]
            page = names[:max_results]
            models: list[RegisteredModel] = []
            if page:
                marks = ",".join("?" * len(page))
                rows = cur.execute(
                    "SELECT name, creation_time, last_updated_time, description, user_id FROM registered_models "
                    f"WHERE name IN ({marks})",
                    page,
                ).fetchall()
                by_name = {m.name: m for m in self._models_from_rows(cur, rows)}
                models = [by_name[n] for n in page if n in by_name]
        token = make_page_token(offset + max_results) if len(names) > max_results else None
        return PagedList(models, token)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        validate_model_name(name)
        wanted = [canonical_stage(s) for s in stages] if stages else None
        with self.db.read() as cur:
            model = self._get_model(cur, name)
        latest = model.latest_versions
        if wanted is not None:
            latest = [v for v in latest if v.current_stage in wanted]
        return latest

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        validate_model_name(name)
        key, value = validate_tag(tag.key, tag.value)
        with self.db.write() as cur:
            self._lock_model(cur, name)
            cur.execute("DELETE FROM registered_model_tags WHERE model_name = ? AND name = ?", (name, key))
            cur.execute(
                "INSERT INTO registered_model_tags (model_name, name, value) VALUES (?, ?, ?)",
                (name, key, value),
            )
            self._touch_model(cur, name, now_ms())

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        validate_model_name(name)
        validate_tag_key(key)
        with self.db.write() as cur:
            self._lock_model(cur, name)
            cur.execute("DELETE FROM registered_model_tags WHERE model_name = ? AND name = ?", (name, key))
            if cur.rowcount == 0:
                raise ResourceDoesNotExist(f"No tag with key {key!r} on registered model {name!r}.")
            self._touch_model(cur, name, now_ms())

