"""Store contracts and backends; the lookup from a URI to its stores lives in ``labkeep.stores.lookup``."""

from __future__ import annotations

from labkeep.stores.lookup import (
    clear_store_cache,
    get_registry_store,
    get_trace_store,
    get_tracking_store,
    open_registry_store,
    open_trace_store,
    open_tracking_store,
)

__all__ = [
    "clear_store_cache",
    "get_registry_store",
    "get_trace_store",
    "get_tracking_store",
    "open_registry_store",
    "open_trace_store",
    "open_tracking_store",
]
