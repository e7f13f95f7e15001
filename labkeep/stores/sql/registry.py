"""The model registry on SQLite, PostgreSQL and MySQL/MariaDB (tables in ``schema.py``, registry section).

Version numbers are allocated inside the write transaction that inserts the version: on SQLite the
transaction starts with ``BEGIN IMMEDIATE`` (one writer at a time); on PostgreSQL/MySQL the
registered model's row is locked with ``SELECT … FOR UPDATE`` first. Either way concurrent
registrations of one name get 1, 2, 3, … without gaps or duplicates. Deleted versions keep their
row (``deleted = 1``) so their numbers are never reused, and the promotion history
(``registry_events``) outlives deletes and follows renames.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from labkeep.entities import (
    ModelVersion,
    ModelVersionStatus,
    ModelVersionTag,
    PagedList,
    PromotionEvent,
    RegisteredModel,
    RegisteredModelTag,
)
from labkeep.exceptions import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from labkeep.registry.sources import LoggedModelRef, SourceLookups, resolve_source
from labkeep.registry.stages import (
    STAGE_NONE,
    canonical_stage,
    check_archive_existing,
)
from labkeep.registry.store import (
    SEARCH_MODEL_VERSIONS_DEFAULT_MAX_RESULTS,
    SEARCH_REGISTERED_MODELS_DEFAULT_MAX_RESULTS,
    RegistryStore,
    current_user,
)
from labkeep.registry.validation import (
    validate_alias,
    validate_comment,
    validate_description,
    validate_model_name,
    validate_tag,
    validate_tag_key,
    validate_version,
)
from labkeep.stores.sql.db import Cursor, Database, open_database

MODEL_VERSIONS_TAG = "mlflow.modelVersions"

_MV_COLS = (
    "model_name, version, creation_time, last_updated_time, description, user_id, current_stage, "
    "source, run_id, run_link, model_id, status, status_message"
)


def _now_ms() -> int:
    return int(time.time() * 1000)


class SqlRegistryStore(RegistryStore):
    """A ``RegistryStore`` over one SQL database (usually the tracking store's database).

    ``default_artifact_root`` is the configured artifact storage: plain-URI sources must lie in it
    (or in an experiment's, run's or logged model's artifact location). ``tracking_store`` is asked
    about runs and logged models that are not in this database (a registry kept apart from tracking).
    """

    def __init__(
        self,
        store_uri: str,
        default_artifact_root: str | None = None,
        tracking_store: Any = None,
        db: Database | None = None,
    ) -> None:
        from labkeep.stores.sql.migrate import SCHEMA_HEAD, current_revision, ensure_schema

        self.store_uri = store_uri
        if default_artifact_root is None:
            from labkeep.config import default_artifact_root as configured_root

            default_artifact_root = configured_root(store_uri)
        self.default_artifact_root = default_artifact_root
        self.tracking_store = tracking_store
        self.db = db or open_database(store_uri)
        if current_revision(self.db) != SCHEMA_HEAD:
            # A new database: let the tracking store create it, so it also gets the Default
            # experiment (which it only adds right after a migration).
            from labkeep.stores.sql.tracking import SqlTrackingStore

            SqlTrackingStore(store_uri, default_artifact_root).close()
        ensure_schema(self.db)

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ helpers
    def _lock_model(self, cur: Cursor, name: str) -> None:
        """Raise unless the registered model exists; on PG/MySQL also lock its row until commit."""
        sql = "SELECT name FROM registered_models WHERE name = ?"
        if self.db.dialect != "sqlite":
            sql += " FOR UPDATE"
        if cur.execute(sql, (name,)).fetchone() is None:
            raise ResourceDoesNotExist(f"Registered Model with name={name} not found")

    def _require_version(self, cur: Cursor, name: str, version: int, for_update: bool = False) -> tuple:
        sql = f"SELECT {_MV_COLS} FROM model_versions WHERE model_name = ? AND version = ? AND deleted = 0"
        if for_update and self.db.dialect != "sqlite":
            sql += " FOR UPDATE"
        row = cur.execute(sql, (name, version)).fetchone()
        if row is None:
            if cur.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone() is None:
                raise ResourceDoesNotExist(f"Registered Model with name={name} not found")
            raise ResourceDoesNotExist(f"Model Version (name={name}, version={version}) not found")
        return row

    def _touch_model(self, cur: Cursor, name: str, now: int) -> None:
        cur.execute("UPDATE registered_models SET last_updated_time = ? WHERE name = ?", (now, name))

    def _record(
        self,
        cur: Cursor,
        name: str,
        version: int | None,
        kind: str,
        from_value: str | None,
        to_value: str | None,
        now: int,
        subject: str | None = None,
        comment: str | None = None,
    ) -> None:
        cur.execute(
            "INSERT INTO registry_events (model_name, version, kind, subject, from_value, to_value, "
            "user_id, ts, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, version, kind, subject, from_value, to_value, current_user(), now, comment),
        )

    def _versions_from_rows(self, cur: Cursor, rows: Sequence[tuple]) -> list[ModelVersion]:
        """Build ModelVersion entities with their tags and aliases (two queries for the whole batch)."""
        if not rows:
            return []
        names = sorted({r[0] for r in rows})
        marks = ",".join("?" * len(names))
        wanted = {(r[0], int(r[1])) for r in rows}
        tags: dict[tuple[str, int], dict[str, str]] = {}
        aliases: dict[tuple[str, int], list[str]] = {}
        if len(wanted) == 1:
            (n, v) = next(iter(wanted))
            tag_rows = cur.execute(
                "SELECT model_name, version, name, value FROM model_version_tags "
                "WHERE model_name = ? AND version = ?",
                (n, v),
            ).fetchall()
            alias_rows = cur.execute(
                "SELECT model_name, version, alias FROM registered_model_aliases "
                "WHERE model_name = ? AND version = ? ORDER BY alias",
                (n, v),
            ).fetchall()
        else:
            tag_rows = cur.execute(
                f"SELECT model_name, version, name, value FROM model_version_tags WHERE model_name IN ({marks})",
                names,
            ).fetchall()
            alias_rows = cur.execute(
                "SELECT model_name, version, alias FROM registered_model_aliases "
                f"WHERE model_name IN ({marks}) ORDER BY alias",
                names,
            ).fetchall()
        for n, v, k, val in tag_rows:
            tags.setdefault((n, int(v)), {})[k] = val
        for n, v, a in alias_rows:
            aliases.setdefault((n, int(v)), []).append(a)
        out = []
        for r in rows:
            key = (r[0], int(r[1]))
            out.append(
                ModelVersion(
                    name=r[0],
                    version=str(r[1]),
                    creation_timestamp=int(r[2]),
                    last_updated_timestamp=int(r[3]),
                    description=r[4],
                    user_id=r[5],
                    current_stage=r[6],
                    source=r[7],
                    run_id=r[8],
                    run_link=r[9],
                    model_id=r[10],
                    status=r[11],
                    status_message=r[12],
                    tags=tags.get(key, {}),
                    aliases=aliases.get(key, []),
                )
            )
        return out

    def _models_from_rows(self, cur: Cursor, rows: Sequence[tuple]) -> list[RegisteredModel]:
        """rows: (name, creation_time, last_updated_time, description, user_id)."""
        if not rows:
            return []
        names = [r[0] for r in rows]
        marks = ",".join("?" * len(names))
        tags: dict[str, dict[str, str]] = {}
        for n, k, v in cur.execute(
            f"SELECT model_name, name, value FROM registered_model_tags WHERE model_name IN ({marks})", names
        ).fetchall():
            tags.setdefault(n, {})[k] = v
        aliases: dict[str, dict[str, str]] = {}
        for n, a, v in cur.execute(
            "SELECT model_name, alias, version FROM registered_model_aliases "
            f"WHERE model_name IN ({marks}) ORDER BY alias",
            names,
        ).fetchall():
            aliases.setdefault(n, {})[a] = str(v)
        latest_rows = cur.execute(
            f"SELECT {', '.join('mv.' + c.strip() for c in _MV_COLS.split(','))} FROM model_versions mv "
            "JOIN (SELECT model_name AS n, MAX(version) AS v FROM model_versions "
            f"WHERE deleted = 0 AND model_name IN ({marks}) GROUP BY model_name, current_stage) t "
            "ON mv.model_name = t.n AND mv.version = t.v ORDER BY mv.version",
            names,
        ).fetchall()
        latest: dict[str, list[ModelVersion]] = {}
        for mv in self._versions_from_rows(cur, latest_rows):
            latest.setdefault(mv.name, []).append(mv)
        return [
            RegisteredModel(
                name=r[0],
                creation_timestamp=int(r[1]),
                last_updated_timestamp=int(r[2]),
                description=r[3],
                user_id=r[4],
                latest_versions=latest.get(r[0], []),
                tags=tags.get(r[0], {}),
                aliases=aliases.get(r[0], {}),
            )
            for r in rows
        ]

    def _get_model(self, cur: Cursor, name: str) -> RegisteredModel:
        row = cur.execute(
            "SELECT name, creation_time, last_updated_time, description, user_id FROM registered_models "
            "WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            raise ResourceDoesNotExist(f"Registered Model with name={name} not found")
        return self._models_from_rows(cur, [row])[0]

    def _get_version(self, cur: Cursor, name: str, version: int) -> ModelVersion:
        return self._versions_from_rows(cur, [self._require_version(cur, name, version)])[0]

    # ------------------------------------------------------------------ registered models
    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        validate_model_name(name)
        description = validate_description(description)
        tag_rows = _tag_rows(tags)
        now = _now_ms()
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
                (description, _now_ms(), name),
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
                    (new_name, _now_ms(), name),
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
            self._record(cur, name, None, "model_deleted", None, None, _now_ms())

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
            self._touch_model(cur, name, _now_ms())

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        validate_model_name(name)
        validate_tag_key(key)
        with self.db.write() as cur:
            self._lock_model(cur, name)
            cur.execute("DELETE FROM registered_model_tags WHERE model_name = ? AND name = ?", (name, key))
            if cur.rowcount == 0:
                raise ResourceDoesNotExist(f"No tag with key {key!r} on registered model {name!r}.")
            self._touch_model(cur, name, _now_ms())

    # ------------------------------------------------------------------ model versions
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
        tag_rows = _tag_rows(tags)
        if run_link is not None and len(run_link) > 2048:
            raise InvalidParameterValue("run_link is longer than 2048 characters.")
        resolved = resolve_source(source, run_id or None, model_id or None, self._source_lookups())
        now = _now_ms()
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
        now = _now_ms()
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
        now = _now_ms()
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
        now = _now_ms()
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
        return row[0] or row[1]

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

    def _version_rows(self, cur: Cursor, keys: Sequence[tuple[str, int]]) -> list[tuple]:
        names = sorted({n for n, _ in keys})
        wanted = set(keys)
        rows: list[tuple] = []
        for i in range(0, len(names), 500):
            chunk = names[i : i + 500]
            marks = ",".join("?" * len(chunk))
            if len(names) == 1:
                versions = sorted({v for _, v in keys})
                vmarks = ",".join("?" * len(versions))
                found = cur.execute(
                    f"SELECT {_MV_COLS} FROM model_versions WHERE model_name = ? AND version IN ({vmarks})",
                    [chunk[0], *versions],
                ).fetchall()
            else:
                found = cur.execute(
                    f"SELECT {_MV_COLS} FROM model_versions WHERE model_name IN ({marks}) AND deleted = 0",
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
                (_now_ms(), name, number),
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

    # ------------------------------------------------------------------ aliases
    def set_registered_model_alias(
        self, name: str, alias: str, version: str, comment: str | None = None
    ) -> None:
        validate_model_name(name)
        validate_alias(alias)
        number = validate_version(version)
        comment = validate_comment(comment)
        now = _now_ms()
        with self.db.write() as cur:
            self._lock_model(cur, name)
            self._require_version(cur, name, number)
            row = cur.execute(
                "SELECT version FROM registered_model_aliases WHERE model_name = ? AND alias = ?",
                (name, alias),
            ).fetchone()
            previous = None if row is None else int(row[0])
            if previous == number:
                return  # already there: nothing moved, nothing to record
            if previous is None:
                cur.execute(
                    "INSERT INTO registered_model_aliases (model_name, alias, version) VALUES (?, ?, ?)",
                    (name, alias, number),
                )
            else:
                cur.execute(
                    "UPDATE registered_model_aliases SET version = ? WHERE model_name = ? AND alias = ?",
                    (number, name, alias),
                )
            self._record(
                cur,
                name,
                number,
                "alias",
                None if previous is None else str(previous),
                str(number),
                now,
                subject=alias,
                comment=comment,
            )
            self._touch_model(cur, name, now)

    def delete_registered_model_alias(self, name: str, alias: str, comment: str | None = None) -> None:
        validate_model_name(name)
        validate_alias(alias)
        comment = validate_comment(comment)
        now = _now_ms()
        with self.db.write() as cur:
            self._lock_model(cur, name)
            row = cur.execute(
                "SELECT version FROM registered_model_aliases WHERE model_name = ? AND alias = ?",
                (name, alias),
            ).fetchone()
            if row is None:
                return  # mlflow treats deleting a missing alias as done
            cur.execute(
                "DELETE FROM registered_model_aliases WHERE model_name = ? AND alias = ?", (name, alias)
            )
            self._record(
                cur, name, int(row[0]), "alias", str(row[0]), None, now, subject=alias, comment=comment
            )
            self._touch_model(cur, name, now)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        validate_model_name(name)
        if not isinstance(alias, str) or not alias:
            raise InvalidParameterValue("Alias cannot be empty.")
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT version FROM registered_model_aliases WHERE model_name = ? AND alias = ?",
                (name, alias),
            ).fetchone()
            if row is None:
                if cur.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone() is None:
                    raise ResourceDoesNotExist(f"Registered Model with name={name} not found")
                raise ResourceDoesNotExist(f"Registered model alias {alias} not found on model {name}.")
            return self._get_version(cur, name, int(row[0]))

    # ------------------------------------------------------------------ history
    def get_promotion_history(self, name: str, version: str | None = None) -> list[PromotionEvent]:
        validate_model_name(name)
        sql = (
            "SELECT event_id, model_name, version, kind, subject, from_value, to_value, user_id, ts, comment "
            "FROM registry_events WHERE model_name = ?"
        )
        params: list[Any] = [name]
        if version is not None:
            sql += " AND version = ?"
            params.append(validate_version(version))
        sql += " ORDER BY ts, event_id"
        with self.db.read() as cur:
            rows = cur.execute(sql, params).fetchall()
            if not rows and version is None:
                if cur.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone() is None:
                    raise ResourceDoesNotExist(f"Registered Model with name={name} not found")
        return [
            PromotionEvent(
                event_id=int(r[0]),
                name=r[1],
                version=None if r[2] is None else str(r[2]),
                kind=r[3],
                subject=r[4],
                from_value=r[5],
                to_value=r[6],
                user_id=r[7],
                timestamp=int(r[8]),
                comment=r[9],
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ source validation
    def _source_lookups(self) -> SourceLookups:
        return SourceLookups(
            run_artifact_uri=self._run_artifact_uri,
            logged_model=self._logged_model,
            logged_model_of_run=self._logged_model_of_run,
            storage_roots=self._storage_roots,
            registered_version_uri=self._registered_version_uri,
        )

    def _run_artifact_uri(self, run_id: str) -> str | None:
        with self.db.read() as cur:
            row = cur.execute("SELECT artifact_uri FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is not None:
            return row[0]
        if self.tracking_store is not None:
            try:
                return self.tracking_store.get_run(run_id).info.artifact_uri
            except ResourceDoesNotExist:
                return None
        return None

    def _logged_model(self, model_id: str) -> LoggedModelRef | None:
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT model_id, artifact_location, source_run_id FROM logged_models WHERE model_id = ?",
                (model_id,),
            ).fetchone()
        if row is not None:
            return LoggedModelRef(row[0], row[1], row[2])
        if self.tracking_store is not None:
            try:
                lm = self.tracking_store.get_logged_model(model_id)
            except ResourceDoesNotExist:
                return None
            return LoggedModelRef(lm.model_id, lm.artifact_location, lm.source_run_id)
        return None

    def _logged_model_of_run(self, run_id: str, name: str) -> LoggedModelRef | None:
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT model_id, artifact_location, source_run_id FROM logged_models "
                "WHERE source_run_id = ? AND name = ? AND lifecycle_stage = 'active' "
                "ORDER BY creation_timestamp DESC",
                (run_id, name),
            ).fetchone()
        return None if row is None else LoggedModelRef(row[0], row[1], row[2])

    def _storage_roots(self) -> list[str]:
        roots = [self.default_artifact_root] if self.default_artifact_root else []
        with self.db.read() as cur:
            roots.extend(r[0] for r in cur.execute("SELECT artifact_location FROM experiments").fetchall())
        return roots

    def _registered_version_uri(self, uri: str) -> str:
        from labkeep.registry.uris import parse_models_uri

        ref = parse_models_uri(uri)
        if ref.name is None:
            raise InvalidParameterValue(f"Invalid model version source {uri!r}.")
        if ref.alias is not None:
            version = self.get_model_version_by_alias(ref.name, ref.alias).version
        elif ref.version is not None:
            version = ref.version
        else:
            latest = self.get_latest_versions(ref.name, None if ref.stage is None else [ref.stage])
            if not latest:
                raise ResourceDoesNotExist(
                    f"No versions of model {ref.name!r} in stage {ref.stage or 'any'}."
                )
            version = max(latest, key=lambda v: int(v.version)).version
        return self.get_model_version_download_uri(ref.name, version)


# ---------------------------------------------------------------------- module helpers
def _tag_rows(tags: Sequence[Any] | dict | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if not tags:
        return out
    items = tags.items() if isinstance(tags, dict) else ((t.key, t.value) for t in tags)
    for key, value in items:
        k, v = validate_tag(key, value)
        out[k] = v
    return out


__all__ = ["SqlRegistryStore"]
