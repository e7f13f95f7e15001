"""Where labkeep stores things: every tracking/registry URI and artifact setting resolved in one place.

Precedence: an explicit ``set_tracking_uri()`` > ``LABKEEP_TRACKING_URI`` > ``MLFLOW_TRACKING_URI`` >
the embedded default, a SQLite file ``labkeep.db`` with an artifact folder ``labkeep-artifacts/``
beside it in the current directory.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse

DEFAULT_DB_FILE = "labkeep.db"
DEFAULT_ARTIFACTS_DIR = "labkeep-artifacts"

_tracking_uri: str | None = None
_registry_uri: str | None = None


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def set_tracking_uri(uri: str | os.PathLike | None) -> None:
    """Use ``uri`` for tracking from now on (None goes back to env vars / the default)."""
    global _tracking_uri
    _tracking_uri = None if uri is None else str(uri)


def set_registry_uri(uri: str | None) -> None:
    global _registry_uri
    _registry_uri = uri


def get_tracking_uri() -> str:
    """The tracking URI in force, normalized (a folder path becomes ``sqlite:///<folder>/labkeep.db``)."""
    uri = _tracking_uri or _env("LABKEEP_TRACKING_URI", "MLFLOW_TRACKING_URI")
    if not uri:
        return f"sqlite:///{os.path.abspath(DEFAULT_DB_FILE)}"
    uri = normalize_store_uri(uri)
    if uri.startswith(("http://", "https://")) and (_env("LABKEEP_MODE") or _offline_init()):
        from labkeep.offline import route

        return route(uri)  # offline/auto mode: maybe the local offline store
    return uri


def _offline_init() -> bool:
    import sys

    module = sys.modules.get("labkeep.offline")
    return module is not None and module._mode is not None


def get_registry_uri() -> str:
    uri = _registry_uri or _env("LABKEEP_REGISTRY_URI", "MLFLOW_REGISTRY_URI")
    return normalize_store_uri(uri) if uri else get_tracking_uri()


def is_tracking_uri_set() -> bool:
    return bool(_tracking_uri or _env("LABKEEP_TRACKING_URI", "MLFLOW_TRACKING_URI"))


def normalize_store_uri(uri: str) -> str:
    """Turn a plain folder path or ``file:`` URI into the SQLite store inside that folder."""
    scheme = urlparse(uri).scheme
    if scheme == "file":
        uri = unquote(urlparse(uri).path)
        scheme = ""
    if scheme in ("", "databricks") or (len(scheme) == 1 and os.name == "nt"):
        folder = os.path.abspath(os.path.expanduser(uri))
        return f"sqlite:///{os.path.join(folder, DEFAULT_DB_FILE)}"
    if scheme == "sqlite" and not uri.startswith("sqlite:////") and uri.startswith("sqlite:///"):
        rel = uri[len("sqlite:///") :]
        if rel and rel != ":memory:" and not rel.startswith("/"):
            return f"sqlite:///{os.path.abspath(rel)}"
    return uri


def default_artifact_root(store_uri: str) -> str:
    """Artifacts beside a SQLite file; otherwise ``LABKEEP_ARTIFACT_ROOT`` or ``./labkeep-artifacts``."""
    explicit = _env("LABKEEP_ARTIFACT_ROOT", "LABKEEP_DEFAULT_ARTIFACT_ROOT")
    if explicit:
        return explicit if "://" in explicit else os.path.abspath(explicit)
    if store_uri.startswith("sqlite:///"):
        db_path = store_uri[len("sqlite:///") :].split("?", 1)[0]
        return os.path.join(os.path.dirname(os.path.abspath(db_path)), DEFAULT_ARTIFACTS_DIR)
    return os.path.abspath(DEFAULT_ARTIFACTS_DIR)


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")
