"""Resolve model URIs (docs/reference/formats.md, model URIs) to a local model directory.

Local paths and ``file://`` URIs are used in place. ``runs:/``, ``models:/`` and artifact-store URIs
are downloaded into ``dst_path`` (a fresh temporary directory by default).
"""

from __future__ import annotations

import os
import tempfile
from urllib.parse import unquote, urlparse

from labkeep.exceptions import InvalidParameterValue, LabkeepException, ResourceDoesNotExist


def _check_relative(path: str, uri: str) -> str:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InvalidParameterValue(
            f"Model URI {uri!r} has a path that escapes its root ('..' is not allowed)."
        )
    return "/".join(parts)


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """``runs:/<run_id>/<path>`` → (run_id, path)."""
    rest = uri[len("runs:/") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidParameterValue(f"Invalid runs URI {uri!r}: expected runs:/<run_id>/<path>.")
    return run_id, _check_relative(path, uri)


def is_logged_model_uri(uri: str) -> bool:
    return uri.startswith("models:/m-")


def _client():
    from labkeep.client import Client

    return Client()


def _dst(dst_path: str | None) -> str:
    if dst_path is None:
        return tempfile.mkdtemp(prefix="labkeep-model-")
    os.makedirs(dst_path, exist_ok=True)
    return dst_path


def _download(artifact_uri: str, dst_path: str | None) -> str:
    from labkeep.artifacts import get_artifact_repository

    dst = _dst(dst_path)
    return get_artifact_repository(artifact_uri).download_artifacts("", dst)


def resolve_artifact_uri(uri: str, client=None) -> str:
    """The artifact-store URI a ``runs:/`` or ``models:/`` URI points to (other URIs unchanged)."""
    if uri.startswith("runs:/"):
        return _resolve_runs(uri, client or _client())
    if uri.startswith("models:/"):
        return _resolve_models(uri, client or _client())
    return uri


def _resolve_runs(uri: str, client) -> str:
    run_id, path = parse_runs_uri(uri)
    run = client.get_run(run_id)
    base = run.info.artifact_uri.rstrip("/")
    # MLflow 3 stores logged models outside the run: look for a logged model named by the first segment.
    first, _, sub = path.partition("/")
    if first:
        try:
            if client.list_artifacts(run_id, path):
                return f"{base}/{path}"
        except LabkeepException:
            pass
        models = client.search_logged_models(
            experiment_ids=[run.info.experiment_id], filter_string=f"name = '{first}'"
        )
        models = [m for m in models if getattr(m, "source_run_id", None) == run_id]
        if models:
            latest = max(models, key=lambda m: m.creation_timestamp or 0)
            return latest.artifact_location.rstrip("/") + (f"/{sub}" if sub else "")
    return f"{base}/{path}" if path else base


def _resolve_models(uri: str, client) -> str:
    rest = uri[len("models:/") :].lstrip("/")
    if rest.startswith("m-"):
        model_id, _, sub = rest.partition("/")
        sub = _check_relative(sub, uri)
        lm = client.get_logged_model(model_id)
        return lm.artifact_location.rstrip("/") + (f"/{sub}" if sub else "")
    from labkeep.registry.uris import resolve_models_uri

    return resolve_models_uri(client, uri)


def download_model_uri(uri: str, dst_path: str | None = None) -> str:
    """Return a local directory holding the model that ``uri`` names."""
    uri = os.fspath(uri)
    if uri.startswith("file:"):
        parsed = urlparse(uri)
        local = unquote(parsed.path)
    elif "://" not in uri and not uri.startswith(("runs:/", "models:/", "mlflow-artifacts:")):
        local = uri
    else:
        local = None
    if local is not None:
        if not os.path.exists(local):
            raise ResourceDoesNotExist(f"Model path {local!r} does not exist.")
        return os.path.abspath(local)
    artifact_uri = resolve_artifact_uri(uri)
    if (
        artifact_uri.startswith("file:")
        or "://" not in artifact_uri
        and not artifact_uri.startswith("mlflow-artifacts:")
    ):
        local = unquote(urlparse(artifact_uri).path) if artifact_uri.startswith("file:") else artifact_uri
        if os.path.exists(local):
            return os.path.abspath(local)
    out = _download(artifact_uri, dst_path)
    if not os.path.exists(os.path.join(out, "MLmodel")):
        raise ResourceDoesNotExist(f"No model found at {uri!r} (no MLmodel file under {artifact_uri}).")
    return out
