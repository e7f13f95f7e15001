"""Store lookup: one cached store object per URI and process."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from labkeep.registry.store import RegistryStore
    from labkeep.stores.base import TrackingStore

_S = TypeVar("_S")
_lock = threading.Lock()
_tracking_cache: dict[tuple[object, ...], TrackingStore] = {}
_registry_cache: dict[tuple[object, ...], RegistryStore] = {}


def get_tracking_store(uri: str | None = None, artifact_root: str | None = None) -> TrackingStore:
    """The tracking store for ``uri`` (default: the tracking URI in force), one per URI and process."""
    from labkeep import config, plugins

    uri = config.normalize_store_uri(uri) if uri else config.get_tracking_uri()
    args = (uri,) if artifact_root is None else (uri, artifact_root)
    return _cached(_tracking_cache, (uri, artifact_root), lambda: plugins.tracking_store_factory(uri)(*args))


def get_registry_store(uri: str | None = None) -> RegistryStore:
    """The model registry store for ``uri`` (default: the registry URI in force)."""
    from labkeep import config, plugins

    uri = config.normalize_store_uri(uri) if uri else config.get_registry_uri()
    return _cached(_registry_cache, (uri,), lambda: plugins.registry_store_factory(uri)(uri))


def _cached(cache: dict[tuple[object, ...], _S], key: tuple[object, ...], build: Callable[[], _S]) -> _S:
    key = (*key, os.getpid())
    store = cache.get(key)
    if store is None:
        with _lock:
            store = cache.get(key)
            if store is None:
                store = cache[key] = build()
    return store


def clear_store_cache() -> None:
    """Forget cached stores (tests, or after changing the environment)."""
    with _lock:
        closers = [s.close for s in _tracking_cache.values()] + [s.close for s in _registry_cache.values()]
        for close in closers:
            try:
                close()
            except Exception:
                pass
        _tracking_cache.clear()
        _registry_cache.clear()
