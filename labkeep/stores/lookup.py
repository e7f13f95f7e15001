"""The one place that maps a store URI to its tracking, registry and trace stores.

``get_*_store`` return one cached store per URI and process; called without a URI they use the URIs
in force, looked up by ``config.store_cache_key()`` (cheap) rather than by resolving the URIs on
every call. ``open_*`` build new, uncached stores (the server owns and closes its own). The builder
for each URI scheme comes from ``labkeep.plugins``; the SQL builders registered there live here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from labkeep.registry.store import RegistryStore
    from labkeep.stores.base import TraceStore, TrackingStore
    from labkeep.stores.sql.registry import SqlRegistryStore
    from labkeep.stores.sql.tracking import SqlTrackingStore

_S = TypeVar("_S")
_lock = threading.RLock()  # reentrant: building a trace store looks up the tracking store
_stores: dict[tuple[object, ...], Any] = {}
_default_uris: dict[tuple[object, ...], str] = {}


# ---------------------------------------------------------------- builders (uncached)
def open_tracking_store(uri: str, artifact_root: str | None = None) -> TrackingStore:
    """A new tracking store for ``uri``, built by the factory registered for its scheme."""
    from labkeep import plugins

    factory = plugins.tracking_store_factory(uri)
    return factory(uri) if artifact_root is None else factory(uri, artifact_root)


def open_registry_store(uri: str) -> RegistryStore:
    """A new model registry store for ``uri``, built by the factory registered for its scheme."""
    from labkeep import plugins

    return plugins.registry_store_factory(uri)(uri)


def open_trace_store(uri: str) -> TraceStore:
    """``RestTraceStore`` for ``http(s)://`` servers, else ``SqlTraceStore`` on the tracking store's database."""
    if uri.startswith(("http://", "https://")):
        from labkeep.stores.rest.traces import RestTraceStore

        return RestTraceStore(uri)
    from labkeep.stores.sql.traces import SqlTraceStore

    return SqlTraceStore(tracking_database(uri, "store traces"))


def tracking_database(uri: str, purpose: str) -> Any:
    """The SQL database of the (cached) tracking store at ``uri``, for stores that live beside it
    (traces, evaluation datasets); a store without one cannot ``purpose``."""
    return require_sql(get_tracking_store(uri), purpose, uri).db


def require_sql(store: TrackingStore, purpose: str, where: str = "") -> SqlTrackingStore:
    """``store`` when it is a SQL tracking store; otherwise INVALID_PARAMETER_VALUE saying that the
    store (at ``where``) cannot ``purpose``."""
    from labkeep.stores.sql.tracking import SqlTrackingStore

    if not isinstance(store, SqlTrackingStore):
        from labkeep.exceptions import InvalidParameterValue

        at = f" at {where!r}" if where else ""
        raise InvalidParameterValue(f"The tracking store{at} is not a SQL database, so it cannot {purpose}.")
    return store


def sql_tracking_store(uri: str, artifact_root: str | None = None) -> SqlTrackingStore:
    """The SQL tracking store (the factory ``labkeep.plugins`` registers for database URIs)."""
    from labkeep.config import default_artifact_root
    from labkeep.stores.sql.tracking import SqlTrackingStore

    return SqlTrackingStore(uri, artifact_root or default_artifact_root(uri))


def sql_registry_store(
    uri: str, artifact_root: str | None = None, tracking: SqlTrackingStore | None = None
) -> SqlRegistryStore:
    """The SQL registry store; with ``tracking`` on the same URI it shares that store's database."""
    from labkeep.config import default_artifact_root
    from labkeep.stores.sql.registry import SqlRegistryStore

    shared = tracking is not None and getattr(tracking, "store_uri", None) == uri
    return SqlRegistryStore(
        uri,
        default_artifact_root=artifact_root or default_artifact_root(uri),
        tracking_store=tracking,
        db=tracking.db if shared and tracking is not None else None,
    )


# ---------------------------------------------------------------- lookups (cached)
def get_tracking_store(uri: str | None = None, artifact_root: str | None = None) -> TrackingStore:
    """The tracking store for ``uri`` (default: the tracking URI in force), one per URI and process."""
    from labkeep import config

    uri = _normalize(uri) if uri else _default_uri("tracking", config.get_tracking_uri)
    return _cached(("tracking", uri, artifact_root), lambda: open_tracking_store(uri, artifact_root))


def get_registry_store(uri: str | None = None) -> RegistryStore:
    """The model registry store for ``uri`` (default: the registry URI in force)."""
    from labkeep import config

    uri = _normalize(uri) if uri else _default_uri("registry", config.get_registry_uri)
    return _cached(("registry", uri), lambda: open_registry_store(uri))


def get_trace_store(tracking_uri: str | None = None) -> TraceStore:
    """The trace store for a tracking URI (default: the tracking URI in force)."""
    from labkeep import config

    uri = _normalize(tracking_uri) if tracking_uri else _default_uri("tracking", config.get_tracking_uri)
    return _cached(("trace", uri), lambda: open_trace_store(uri))


def clear_store_cache() -> None:
    """Close and forget every cached store (tests, or after changing the environment)."""
    with _lock:
        stores = list(_stores.values())
        _stores.clear()
        _default_uris.clear()
    for store in stores:
        try:
            store.close()
        except Exception:  # a store that is already closed, or whose database went away
            pass


def _normalize(uri: str) -> str:
    from labkeep import config

    return config.normalize_store_uri(uri)


def _default_uri(kind: str, resolve: Callable[[], str]) -> str:
    """The URI in force, resolved once per combination of the settings it is computed from."""
    from labkeep import config

    key = (kind, *config.store_cache_key(), config.MODE.get(), os.getcwd(), os.getpid())
    uri = _default_uris.get(key)
    if uri is None:
        uri = _default_uris[key] = resolve()
    return uri


def _cached(key: tuple[object, ...], build: Callable[[], _S]) -> _S:
    key = (*key, os.getpid())
    store = _stores.get(key)
    if store is None:
        with _lock:
            store = _stores.get(key)
            if store is None:
                store = _stores[key] = build()
    return store
