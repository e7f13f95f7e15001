"""Opening the server's stores from its settings."""

from __future__ import annotations

from typing import Any

from labkeep.server.settings import ServerSettings


def open_stores(settings: ServerSettings) -> tuple[Any, Any, Any]:
    """(tracking store, registry store or None, artifact store or None)."""
    from labkeep.stores.sql.tracking import SqlTrackingStore

    tracking = SqlTrackingStore(settings.backend_store_uri, settings.resolved_default_artifact_root())
    registry_uri = settings.registry_store_uri or settings.backend_store_uri
    registry = open_registry_store(
        registry_uri,
        settings.resolved_default_artifact_root(),
        tracking,
        tracking.db if registry_uri == settings.backend_store_uri else None,
    )
    artifact_store = None
    if settings.artifacts_destination:
        from labkeep.server.artifact_store import open_artifact_store

        artifact_store = open_artifact_store(settings.artifacts_destination)
    return tracking, registry, artifact_store


def open_registry_store(uri: str, default_artifact_root: str, tracking: Any, db: Any) -> Any:
    """The SQL registry store (sharing the tracking store's database when the URIs agree)."""
    try:
        from labkeep.stores.sql.registry import SqlRegistryStore
    except ImportError:
        return None
    return SqlRegistryStore(uri, default_artifact_root=default_artifact_root, tracking_store=tracking, db=db)
