"""Model versions in the SQL model registry: register, update, stage transitions, delete, search, tags."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import cast

from labkeep.entities import ModelVersion, ModelVersionStatus, ModelVersionTag, PagedList
from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.registry.sources import resolve_source
from labkeep.registry.stages import STAGE_NONE, canonical_stage, check_archive_existing
from labkeep.registry.store import SEARCH_MODEL_VERSIONS_DEFAULT_MAX_RESULTS, current_user
from labkeep.registry.validation import (
    validate_comment,
    validate_description,
    validate_model_name,
    validate_tag,
    validate_tag_key,
    validate_version,
)
from labkeep.stores.sql.db import Cursor, Row
from labkeep.stores.sql.registry_core import MODEL_VERSIONS_TAG, MV_COLS, now_ms
from labkeep.stores.sql.registry_core import tag_rows as validated_tags
from labkeep.stores.sql.registry_models import RegisteredModelsMixin


class ModelVersionsMixin(RegisteredModelsMixin):
    """Model version rows, their tags and stages (numbers allocated under the model's row lock)."""

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Sequence[ModelVersionTag] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        local_model_path: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        validate_model_name(name)
        description = validate_description(description)
        tag_rows = validated_tags(tags)
        if run_link is not None and len(run_link) > 2048:
            raise InvalidParameterValue("run_link is longer than 2048 characters.")
        resolved = resolve_source(source, run_id or None, model_id or None, self._source_lookups())
        now = now_ms()
        for attempt in range(5):
            try:
                with self.db.write() as cur:
                    self._lock_model(cur, name)
                    last_sql = "SELECT version FROM model_versions WHERE model_name = ? ORDER BY version DESC LIMIT 1"
                    if self.db.dialect != "sqlite":
                        last_sql += " FOR UPDATE"
                    row = cur.execute(last_sql, (name,)).fetchone()
                    version = (int(row[0]) if row else 0) + 1
                    cur.execute(
                        "INSERT INTO model_versions (model_name, version, creation_time, last_updated_time, "
                        "description, user_id, current_stage, source, storage_location, run_id, run_link, "
                        "model_id, status, status_message, deleted) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                        (
                            name,
                            version,
                            now,
                            now,
                            description,
                            current_user(),
                            STAGE_NONE,
                            source,
                            resolved.storage_location,
                            resolved.run_id,
                            run_link,
                            resolved.model_id,
                            ModelVersionStatus.READY,
                            None,
                        ),
                    )
                    cur.executemany(
                        "INSERT INTO model_version_tags (model_name, version, name, value) VALUES (?, ?, ?, ?)",
                        [(name, version, k, v) for k, v in tag_rows.items()],
                    )
                    self._touch_model(cur, name, now)
                    if resolved.model_id:
                        self._note_registration(cur, resolved.model_id, name, version)
                    return self._get_version(cur, name, version)
            except Exception as exc:
                # Only reachable if a writer slipped past the row lock; take the next number.
                if self.db.is_integrity_error(exc) and attempt < 4:
                    continue
                raise
        raise AssertionError("unreachable")

    def _note_registration(self, cur: Cursor, model_id: str, name: str, version: int) -> None:
        """Append {name, version} to the logged model's ``mlflow.modelVersions`` tag (same database only)."""
        if cur.execute("SELECT 1 FROM logged_models WHERE model_id = ?", (model_id,)).fetchone() is None:
            return
        row = cur.execute(
            "SELECT value FROM logged_model_tags WHERE model_id = ? AND name = ?",
            (model_id, MODEL_VERSIONS_TAG),
        ).fetchone()
        try:
            entries = json.loads(row[0]) if row else []
            if not isinstance(entries, list):
                entries = []
        except ValueError:
            entries = []
        entries.append({"name": name, "version": version})
        cur.execute(
            "DELETE FROM logged_model_tags WHERE model_id = ? AND name = ?", (model_id, MODEL_VERSIONS_TAG)
        )
        cur.execute(
            "INSERT INTO logged_model_tags (model_id, name, value) VALUES (?, ?, ?)",
            (model_id, MODEL_VERSIONS_TAG, json.dumps(entries)),
        )

    def update_model_version(self, name: str, version: str, description: str | None = None) -> ModelVersion:
        validate_model_name(name)
        number = validate_version(version)
        description = validate_description(description)
        now = now_ms()
        with self.db.write() as cur:
            self._require_version(cur, name, number, for_update=True)
            cur.execute(
                "UPDATE model_versions SET description = ?, last_updated_time = ? WHERE model_name = ? AND version = ?",
                (description, now, name, number),
            )
            return self._get_version(cur, name, number)

    def transition_model_version_stage(
        self,
        name: str,
        version: str,
        stage: str,
        archive_existing_versions: bool = False,
        comment: str | None = None,
    ) -> ModelVersion:
        validate_model_name(name)
        number = validate_version(version)
        target = canonical_stage(stage)
        comment = validate_comment(comment)
        archive_to = check_archive_existing(target) if archive_existing_versions else None
        now = now_ms()
        with self.db.write() as cur:
            self._lock_model(cur, name)
            row = self._require_version(cur, name, number)
            previous = row[6]
            if archive_to is not None:
                others = cur.execute(
                    "SELECT version FROM model_versions WHERE model_name = ? AND current_stage = ? "
                    "AND version != ? AND deleted = 0",
                    (name, target, number),
                ).fetchall()
                for (other,) in others:
                    cur.execute(
                        "UPDATE model_versions SET current_stage = ?, last_updated_time = ? "
                        "WHERE model_name = ? AND version = ?",
                        (archive_to, now, name, other),
                    )
                    self._record(
                        cur,
                        name,
                        int(other),
                        "stage",
                        target,
                        archive_to,
                        now,
                        comment=f"archived when version {number} moved to {target}",
                    )
            cur.execute(
                "UPDATE model_versions SET current_stage = ?, last_updated_time = ? WHERE model_name = ? AND version = ?",
                (target, now, name, number),
            )
            self._record(cur, name, number, "stage", previous, target, now, comment=comment)
            self._touch_model(cur, name, now)
            return self._get_version(cur, name, number)

    def delete_model_version(self, name: str, version: str) -> None:
        validate_model_name(name)
        number = validate_version(version)
        now = now_ms()
        with self.db.write() as cur:
            self._lock_model(cur, name)
            self._require_version(cur, name, number)
            aliases = cur.execute(
                "SELECT alias FROM registered_model_aliases WHERE model_name = ? AND version = ?",
                (name, number),
            ).fetchall()
            for (alias,) in aliases:
                self._record(
                    cur,
                    name,
                    number,
                    "alias",
                    str(number),
                    None,
                    now,
                    subject=alias,
                    comment=f"version {number} deleted",
                )
            cur.execute(
                "DELETE FROM registered_model_aliases WHERE model_name = ? AND version = ?", (name, number)
            )
            cur.execute("DELETE FROM model_version_tags WHERE model_name = ? AND version = ?", (name, number))
            cur.execute(
                "UPDATE model_versions SET deleted = 1, last_updated_time = ? WHERE model_name = ? AND version = ?",
                (now, name, number),
            )
            self._touch_model(cur, name, now)

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        validate_model_name(name)
        number = validate_version(version)
        with self.db.read() as cur:
            return self._get_version(cur, name, number)

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        validate_model_name(name)
        number = validate_version(version)
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT storage_location, source FROM model_versions WHERE model_name = ? AND version = ? "
                "AND deleted = 0",
                (name, number),
            ).fetchone()
        if row is None:
            raise ResourceDoesNotExist(f"Model Version (name={name}, version={number}) not found")
        return cast(str, row[0] or row[1])

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = SEARCH_MODEL_VERSIONS_DEFAULT_MAX_RESULTS,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        from labkeep.search import (
            build_model_versions_query,
            make_page_token,
            parse_page_token,
            validate_max_results,
        )

        max_results = validate_max_results("model_versions", max_results)
        offset = parse_page_token(page_token)
        sql, params = build_model_versions_query(
            filter_string, list(order_by or []), max_results + 1, offset, self.db.dialect
        )
        with self.db.read() as cur:
            keys = [(r[0], int(r[1])) for r in cur.execute(sql, params).fetchall()]
            page = keys[:max_results]
            versions: list[ModelVersion] = []
            if page:
                rows = self._version_rows(cur, page)
                by_key = {(mv.name, int(mv.version)): mv for mv in self._versions_from_rows(cur, rows)}
                versions = [by_key[k] for k in page if k in by_key]
        token = make_page_token(offset + max_results) if len(keys) > max_results else None
        return PagedList(versions, token)

    def _version_rows(self, cur: Cursor, keys: Sequence[tuple[str, int]]) -> list[Row]:
        names = sorted({n for n, _ in keys})
        wanted = set(keys)
        rows: list[Row] = []
        for i in range(0, len(names), 500):
            chunk = names[i : i + 500]
            marks = ",".join("?" * len(chunk))
            if len(names) == 1:
                versions = sorted({v for _, v in keys})
                vmarks = ",".join("?" * len(versions))
                found = cur.execute(
                    f"SELECT {MV_COLS} FROM model_versions WHERE model_name = ? AND version IN ({vmarks})",
                    [chunk[0], *versions],
                ).fetchall()
            else:
                found = cur.execute(
                    f"SELECT {MV_COLS} FROM model_versions WHERE model_name IN ({marks}) AND deleted = 0",
                    chunk,
                ).fetchall()
            rows.extend(r for r in found if (r[0], int(r[1])) in wanted)
        return rows

    def set_model_version_tag(self, name: str, version: str, tag: ModelVersionTag) -> None:
        validate_model_name(name)
        number = validate_version(version)
        key, value = validate_tag(tag.key, tag.value)
        with self.db.write() as cur:
            self._require_version(cur, name, number, for_update=True)
            cur.execute(
                "DELETE FROM model_version_tags WHERE model_name = ? AND version = ? AND name = ?",
                (name, number, key),
            )
            cur.execute(
                "INSERT INTO model_version_tags (model_name, version, name, value) VALUES (?, ?, ?, ?)",
                (name, number, key, value),
            )
            cur.execute(
                "UPDATE model_versions SET last_updated_time = ? WHERE model_name = ? AND version = ?",
                (now_ms(), name, number),
            )

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        validate_model_name(name)
        number = validate_version(version)
        validate_tag_key(key)
        with self.db.write() as cur:
            self._require_version(cur, name, number, for_update=True)
            cur.execute(
                "DELETE FROM model_version_tags WHERE model_name = ? AND version = ? AND name = ?",
                (name, number, key),
            )
            if cur.rowcount == 0:
                raise ResourceDoesNotExist(
                    f"No tag with key {key!r} on model version {name!r} version {number}."
                )

