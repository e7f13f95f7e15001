"""The model registry on SQLite, PostgreSQL and MySQL/MariaDB (tables in ``schema.py``, registry section).

Version numbers are allocated inside the write transaction that inserts the version: on SQLite the
transaction starts with ``BEGIN IMMEDIATE`` (one writer at a time); on PostgreSQL/MySQL the
registered model's row is locked with ``SELECT … FOR UPDATE`` first. Either way concurrent
registrations of one name get 1, 2, 3, … without gaps or duplicates. Deleted versions keep their
row (``deleted = 1``) so their numbers are never reused, and the promotion history
(``registry_events``) outlives deletes and follows renames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.registry.sources import LoggedModelRef, SourceLookups
from labkeep.registry.store import RegistryStore
from labkeep.stores.sql.db import Database, open_database
from labkeep.stores.sql.registry_aliases import AliasesMixin
from labkeep.stores.sql.registry_core import MODEL_VERSIONS_TAG

if TYPE_CHECKING:
    from labkeep.stores.base import TrackingStore

__all__ = ["MODEL_VERSIONS_TAG", "SqlRegistryStore"]


class SqlRegistryStore(AliasesMixin, RegistryStore):
    """A ``RegistryStore`` over one SQL database (usually the tracking store's database).

    ``default_artifact_root`` is the configured artifact storage: plain-URI sources must lie in it
    (or in an experiment's, run's or logged model's artifact location). ``tracking_store`` is asked
    about runs and logged models that are not in this database (a registry kept apart from tracking).
    """

    def __init__(
        self,
        store_uri: str,
        default_artifact_root: str | None = None,
        tracking_store: TrackingStore | None = None,
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
            return cast("str | None", row[0])
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


