"""Registries of implementations keyed by URI scheme, loaded on first use.

Built-in stores and artifact repositories are registered here the same way a third party would
add one (``register_tracking_store("myscheme", "mypkg.store:make_store")``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkeep.artifacts.base import ArtifactRepository
    from labkeep.registry.store import RegistryStore
    from labkeep.stores.base import TrackingStore

_TRACKING_STORES: dict[str, str] = {
    "sqlite": "labkeep.stores.lookup:sql_tracking_store",
    "postgresql": "labkeep.stores.lookup:sql_tracking_store",
    "postgres": "labkeep.stores.lookup:sql_tracking_store",
    "mysql": "labkeep.stores.lookup:sql_tracking_store",
    "mariadb": "labkeep.stores.lookup:sql_tracking_store",
    "http": "labkeep.stores.rest.tracking:make_store",
    "https": "labkeep.stores.rest.tracking:make_store",
}
_REGISTRY_STORES: dict[str, str] = {
    "sqlite": "labkeep.stores.lookup:sql_registry_store",
    "postgresql": "labkeep.stores.lookup:sql_registry_store",
    "postgres": "labkeep.stores.lookup:sql_registry_store",
    "mysql": "labkeep.stores.lookup:sql_registry_store",
    "mariadb": "labkeep.stores.lookup:sql_registry_store",
    "http": "labkeep.stores.rest.registry:make_store",
    "https": "labkeep.stores.rest.registry:make_store",
}
_ARTIFACT_REPOS: dict[str, str] = {
    "": "labkeep.artifacts.local:LocalArtifactRepository",
    "file": "labkeep.artifacts.local:LocalArtifactRepository",
    "mlflow-artifacts": "labkeep.artifacts.http:HttpArtifactRepository",
    "http": "labkeep.artifacts.http:HttpArtifactRepository",
    "https": "labkeep.artifacts.http:HttpArtifactRepository",
    "s3": "labkeep.artifacts.s3:S3ArtifactRepository",
}


def _scheme(uri: str) -> str:
    head, sep, _ = uri.partition(":")
    if not sep or len(head) == 1:  # a plain path (or a Windows drive letter)
        return ""
    return head.split("+", 1)[0].lower()


def _load(target: str) -> Callable[..., Any]:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _lookup(table: dict[str, str], uri: str, what: str) -> Callable[..., Any]:
    from labkeep.exceptions import InvalidParameterValue

    scheme = _scheme(uri)
    if scheme not in table:
        known = ", ".join(sorted(s + ":" for s in table if s)) or "none"
        raise InvalidParameterValue(f"No {what} for URI {uri!r} (scheme {scheme!r}); supported: {known}")
    return _load(table[scheme])


def tracking_store_factory(uri: str) -> Callable[..., TrackingStore]:
    return _lookup(_TRACKING_STORES, uri, "tracking store")


def registry_store_factory(uri: str) -> Callable[..., RegistryStore]:
    return _lookup(_REGISTRY_STORES, uri, "model registry store")


def artifact_repository_class(uri: str) -> Callable[..., ArtifactRepository]:
    return _lookup(_ARTIFACT_REPOS, uri, "artifact repository")


def register_tracking_store(scheme: str, target: str) -> None:
    _TRACKING_STORES[scheme] = target


def register_registry_store(scheme: str, target: str) -> None:
    _REGISTRY_STORES[scheme] = target


def register_artifact_repository(scheme: str, target: str) -> None:
    _ARTIFACT_REPOS[scheme] = target
