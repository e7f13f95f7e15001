"""Artifact repositories keyed by URI scheme (local paths, the server's proxy, S3)."""

from __future__ import annotations

from typing import Any


def get_artifact_repository(artifact_uri: str, tracking_uri: str | None = None) -> Any:
    """The repository that stores files under ``artifact_uri``."""
    from labkeep import plugins

    return plugins.artifact_repository_class(artifact_uri)(artifact_uri, tracking_uri=tracking_uri)


def download_artifacts(
    artifact_uri: str, dst_path: str | None = None, tracking_uri: str | None = None
) -> str:
    """Download the file or directory at ``artifact_uri`` and return its local path."""
    parent, _, name = artifact_uri.rstrip("/").rpartition("/")
    if not name:
        raise ValueError(f"Cannot download {artifact_uri!r}: no file or directory name in it")
    return get_artifact_repository(parent, tracking_uri).download_artifacts(name, dst_path)
