"""Post-import hooks: run a callback once a module is imported (at once if it already is).

A finder placed first on ``sys.meta_path`` answers only for watched module names: it asks the
other finders for the real spec and overrides ``exec_module`` on that spec's loader instance, so
the callbacks run right after the module body. The module, its spec and its loader stay the
library's own objects. A failing callback is logged and never breaks the user's import.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

_log = logging.getLogger("labkeep.autologging")
_lock = threading.RLock()
_hooks: dict[str, list[Callable[[Any], None]]] = {}


def _run_hooks(name: str) -> None:
    with _lock:
        callbacks = _hooks.pop(name, [])
    module = sys.modules.get(name)
    if module is None:
        return
    for callback in callbacks:
        try:
            callback(module)
        except Exception as e:  # a hook must never break the user's import
            _log.warning("labkeep autologging: setting up for %s failed: %s", name, e)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self._busy = threading.local()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in _hooks:
            return None
        busy = getattr(self._busy, "names", None)
        if busy is None:
            busy = self._busy.names = set()
        if fullname in busy:
            return None
        busy.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        except Exception:
            return None
        finally:
            busy.discard(fullname)
        loader = getattr(spec, "loader", None) if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            try:
                original(module)
            finally:
                try:
                    del loader.exec_module
                except AttributeError:
                    pass
            _run_hooks(fullname)

        try:
            loader.exec_module = exec_module
        except (AttributeError, TypeError):  # a loader with slots: fall back to polling later
            return spec
        return spec


_finder = _Finder()


def register_post_import_hook(callback: Callable[[Any], None], module_name: str) -> None:
    """Call ``callback(module)`` when ``module_name`` is imported, or now if it already is."""
    if module_name in sys.modules:
        try:
            callback(sys.modules[module_name])
        except Exception as e:
            _log.warning("labkeep autologging: setting up for %s failed: %s", module_name, e)
        return
    with _lock:
        _hooks.setdefault(module_name, []).append(callback)
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
    if module_name in sys.modules:  # imported by another thread meanwhile
        _run_hooks(module_name)


def pending_hooks() -> dict[str, int]:
    """Watched module names and how many callbacks wait on each (for tests and diagnostics)."""
    with _lock:
        return {name: len(cbs) for name, cbs in _hooks.items()}


def clear_hooks(module_name: str | None = None) -> None:
    """Forget the waiting callbacks (of one module, or all)."""
    with _lock:
        if module_name is None:
            _hooks.clear()
        else:
            _hooks.pop(module_name, None)
