"""Optional background export of finished traces (``LABKEEP_ASYNC_TRACE_LOGGING=true``).

The traced code only queues the finished trace; one worker thread writes queued traces in
batches (one transaction per batch on SQL stores). Reads in this process (``get_trace``,
``search_traces``, tags, feedback) and interpreter exit flush the queue first.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from typing import TYPE_CHECKING, Any

from labkeep import config

if TYPE_CHECKING:
    from labkeep.genai.tracing.entities import TraceInfo
    from labkeep.stores.base import TraceStore

_Item = tuple["TraceInfo", list[dict[str, Any]]]

log = logging.getLogger("labkeep.tracing")
MAX_BATCH = 500


def async_enabled() -> bool:
    return config.ASYNC_TRACE_LOGGING.flag()


class AsyncExporter:
    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[TraceStore, TraceInfo, list[dict[str, Any]]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, store: TraceStore, info: TraceInfo, spans: list[dict[str, Any]]) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._run, name="labkeep-trace-export", daemon=True
                    )
                    self._thread.start()
        self._queue.put((store, info, spans))

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            by_store: dict[int, tuple[TraceStore, list[_Item]]] = {}
            for store, info, spans in batch:
                by_store.setdefault(id(store), (store, []))[1].append((info, spans))
            for store, items in by_store.values():
                try:
                    store.log_traces(items)
                except Exception as exc:  # one bad batch must not stop the exporter
                    log.warning("labkeep could not store %d trace(s): %s", len(items), exc)
            for _ in batch:
                self._queue.task_done()

    def flush(self) -> None:
        """Wait until every queued trace is written."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.join()


_exporters: dict[int, AsyncExporter] = {}


def exporter() -> AsyncExporter:
    pid = os.getpid()  # a forked child gets its own queue and thread
    exp = _exporters.get(pid)
    if exp is None:
        exp = _exporters[pid] = AsyncExporter()
    return exp


def flush() -> None:
    exp = _exporters.get(os.getpid())
    if exp is not None:
        exp.flush()


atexit.register(flush)
