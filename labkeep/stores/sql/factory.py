"""Builds SQL stores for a URI (one database connection shared by tracking and registry)."""

from __future__ import annotations

from typing import Any

from labkeep.config import default_artifact_root


def make_tracking_store(uri: str, artifact_root: str | None = None) -> Any:
    from labkeep.stores.sql.tracking import SqlTrackingStore

    return SqlTrackingStore(uri, artifact_root or default_artifact_root(uri))


def make_registry_store(uri: str, artifact_root: str | None = None) -> Any:
    from labkeep.stores.sql.registry import SqlRegistryStore

    return SqlRegistryStore(uri, default_artifact_root=artifact_root or default_artifact_root(uri))
