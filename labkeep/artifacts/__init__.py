"""Artifact repositories keyed by URI scheme (local paths, the server's proxy, S3), and mlflow's
``mlflow.artifacts`` helpers: ``download_artifacts``, ``list_artifacts``, ``load_text``, ``load_dict``."""

from __future__ import annotations

import json
import os
import tempfile
from typing import TYPE_CHECKING, Any

from labkeep.exceptions import InvalidParameterValue

if TYPE_CHECKING:
    from labkeep.artifacts.base import ArtifactRepository


def get_artifact_repository(artifact_uri: str, tracking_uri: str | None = None) -> ArtifactRepository:
    """The repository that stores files under ``artifact_uri``."""
    from labkeep import plugins

    return plugins.artifact_repository_class(artifact_uri)(artifact_uri, tracking_uri=tracking_uri)


def _split(artifact_uri: str) -> tuple[str, str]:
    parent, _, name = artifact_uri.rstrip("/").rpartition("/")
    if not name or not parent:
        raise InvalidParameterValue(
            f"Cannot use artifact URI {artifact_uri!r}: it names no file or directory."
        )
    return parent, name


def _resolve(
    artifact_uri: str | None, run_id: str | None, artifact_path: str | None, tracking_uri: str | None
) -> str:
    if (artifact_uri is None) == (run_id is None):
        raise InvalidParameterValue(
            "Give exactly one of artifact_uri or run_id (with an optional artifact_path)."
        )
    if run_id is None:  # then artifact_uri is set
        assert artifact_uri is not None
        if artifact_path is not None:
            raise InvalidParameterValue("artifact_path goes with run_id, not with artifact_uri.")
        if artifact_uri.startswith(("runs:/", "models:/")):
            from labkeep.models.uris import resolve_artifact_uri

            return resolve_artifact_uri(artifact_uri)
        return artifact_uri
    from labkeep.artifacts.paths import safe_relative_path
    from labkeep.client import Client

    root = Client(tracking_uri).get_run(run_id).info.artifact_uri.rstrip("/")
    rel = safe_relative_path(artifact_path)
    return f"{root}/{rel}" if rel else root


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Download a file or directory (by URI, or by run id + path) and return its local path."""
    uri = _resolve(artifact_uri, run_id, artifact_path, tracking_uri)
    parent, name = _split(uri)
    dst = dst_path or tempfile.mkdtemp(prefix="labkeep-download-")
    return get_artifact_repository(parent, tracking_uri).download_artifacts(name, dst)


def list_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | None = None,
) -> list:
    """The direct children of a directory artifact (paths relative to the run's artifact root)."""
    if run_id is not None:
        from labkeep.client import Client

        return Client(tracking_uri).list_artifacts(run_id, artifact_path)
    uri = _resolve(artifact_uri, None, None, tracking_uri)
    return get_artifact_repository(uri, tracking_uri).list_artifacts()


def load_text(artifact_uri: str, tracking_uri: str | None = None) -> str:
    """The content of a text artifact."""
    with tempfile.TemporaryDirectory() as tmp:
        local = download_artifacts(artifact_uri, dst_path=tmp, tracking_uri=tracking_uri)
        if os.path.isdir(local):
            raise InvalidParameterValue(f"{artifact_uri!r} is a directory, not a text file.")
        with open(local, encoding="utf-8") as fh:
            return fh.read()


def load_dict(artifact_uri: str, tracking_uri: str | None = None) -> Any:
    """A JSON or YAML artifact parsed into Python objects."""
    text = load_text(artifact_uri, tracking_uri)
    if artifact_uri.endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_load(text)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidParameterValue(f"{artifact_uri!r} is not valid JSON: {exc}") from None
