"""The trace store for a tracking URI: SQL (sharing the tracking store's database) or REST."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labkeep.stores.base import TraceStore

_lock = threading.Lock()
_cache: dict[tuple[str, int], TraceStore] = {}


def get_trace_store(tracking_uri: str | None = None) -> TraceStore:
    """``SqlTraceStore`` for database URIs, ``RestTraceStore`` for ``http(s)://`` servers."""
    import os

    from labkeep import config

    uri = config.normalize_store_uri(tracking_uri) if tracking_uri else config.get_tracking_uri()
    key = (uri, os.getpid())
    store = _cache.get(key)
    if store is not None:
        return store
    with _lock:
        store = _cache.get(key)
        if store is None:
            store = _cache[key] = _build(uri)
    return store


def _build(uri: str) -> TraceStore:
    if uri.startswith(("http://", "https://")):
        from labkeep.stores.rest.traces import RestTraceStore

        return RestTraceStore(uri)
    from labkeep.stores import get_tracking_store
    from labkeep.stores.sql.traces import SqlTraceStore

    tracking = get_tracking_store(uri)
    db = getattr(tracking, "db", None)
    if db is None:
        from labkeep.exceptions import InvalidParameterValue

        raise InvalidParameterValue(f"The tracking store at {uri!r} cannot store traces.")
    return SqlTraceStore(db)


def clear_trace_store_cache() -> None:
    with _lock:
        _cache.clear()
