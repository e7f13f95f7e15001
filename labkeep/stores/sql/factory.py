"""Builds SQL stores for a URI (one database connection shared by tracking and registry)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkeep.config import default_artifact_root

if TYPE_CHECKING:
    from labkeep.stores.sql.registry import SqlRegistryStore
    from labkeep.stores.sql.tracking import SqlTrackingStore


def make_tracking_store(uri: str, artifact_root: str | None = None) -> SqlTrackingStore:
    from labkeep.stores.sql.tracking import SqlTrackingStore

    return SqlTrackingStore(uri, artifact_root or default_artifact_root(uri))


def make_registry_store(uri: str, artifact_root: str | None = None) -> SqlRegistryStore:
    from labkeep.stores.sql.registry import SqlRegistryStore

    return SqlRegistryStore(uri, default_artifact_root=artifact_root or default_artifact_root(uri))
