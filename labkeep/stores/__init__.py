"""Store lookup: one cached store object per URI and process."""

from __future__ import annotations

import os
import threading
from typing import Any

_lock = threading.Lock()
_cache: dict[tuple, Any] = {}


def get_tracking_store(uri: str | None = None, artifact_root: str | None = None) -> Any:
    from labkeep import config, plugins

    uri = config.normalize_store_uri(uri) if uri else config.get_tracking_uri()
    args = (uri,) if artifact_root is None else (uri, artifact_root)
    return _cached(("tracking", uri, artifact_root), lambda: plugins.tracking_store_factory(uri)(*args))


def get_registry_store(uri: str | None = None) -> Any:
    from labkeep import config, plugins

    uri = config.normalize_store_uri(uri) if uri else config.get_registry_uri()
    return _cached(("registry", uri), lambda: plugins.registry_store_factory(uri)(uri))


def _cached(key: tuple, build: Any) -> Any:
    key = (*key, os.getpid())
    store = _cache.get(key)
    if store is None:
        with _lock:
            store = _cache.get(key)
            if store is None:
                store = _cache[key] = build()
    return store


def clear_store_cache() -> None:
    """Forget cached stores (tests, or after changing the environment)."""
    with _lock:
        for store in _cache.values():
            try:
                store.close()
            except Exception:
                pass
        _cache.clear()
