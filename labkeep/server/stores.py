"""Opening the server's stores from its settings (new store objects the server owns and closes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkeep.server.settings import ServerSettings

if TYPE_CHECKING:
    from labkeep.artifacts.base import ArtifactRepository
    from labkeep.stores.sql.registry import SqlRegistryStore
    from labkeep.stores.sql.tracking import SqlTrackingStore


def open_stores(
    settings: ServerSettings,
) -> tuple[SqlTrackingStore, SqlRegistryStore, ArtifactRepository | None]:
    """(tracking store, registry store, artifacts destination or None).

    The registry shares the tracking store's database when both use the same URI.
    """
    from labkeep.stores.lookup import sql_registry_store, sql_tracking_store

    root = settings.resolved_default_artifact_root()
    tracking = sql_tracking_store(settings.backend_store_uri, root)
    registry = sql_registry_store(settings.registry_store_uri or settings.backend_store_uri, root, tracking)
    artifacts = None
    if settings.artifacts_destination:
        from labkeep.artifacts import get_artifact_repository

        artifacts = get_artifact_repository(settings.artifacts_destination)
    return tracking, registry, artifacts
