"""Where tracing finds its store: ``labkeep.stores.lookup`` (this name stays for older imports)."""

from __future__ import annotations

from labkeep.stores.lookup import get_trace_store

__all__ = ["get_trace_store"]
