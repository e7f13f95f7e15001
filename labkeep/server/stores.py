"""Opening the server's stores from its settings."""

from __future__ import annotations

from typing import Any

from labkeep.server.settings import ServerSettings


def open_stores(settings: ServerSettings) -> tuple[Any, Any, Any]:
    """(tracking store, registry store or None, artifact store or None)."""
    from labkeep.stores.sql.tracking import SqlTrackingStore

    tracking = SqlTrackingStore(settings.backend_store_uri, settings.resolved_default_artifact_root())
    registry = open_registry_store(settings.registry_store_uri or settings.backend_store_uri)
    artifact_store = None
    if settings.artifacts_destination:
        from labkeep.server.artifact_store import open_artifact_store

        artifact_store = open_artifact_store(settings.artifacts_destination)
    return tracking, registry, artifact_store


def open_registry_store(uri: str) -> Any:
    """The SQL registry store when it is installed (it lands with the registry work)."""
    try:
        from labkeep.stores.sql.registry import SqlRegistryStore
    except ImportError:
        return None
    return SqlRegistryStore(uri)
