"""``safe_patch``: wrap a library method so autologging can never break the user's training.

The patch function receives ``call_original`` and the call's arguments. An error raised by the
library itself (inside ``call_original``) reaches the user unchanged; any other error is turned
into one warning, and the training call still happens (or its result is returned when it already
ran). Calls made while another autologged call of the same thread is running (a pipeline's inner
``fit``, a search's candidate fits) go straight to the library: training logs once.
"""

from __future__ import annotations

import functools
import threading
import types
from collections.abc import Callable
from typing import Any

from labkeep.autologging.config import get_config, is_enabled, warn_once

_state = threading.local()
_patches: dict[str, list[tuple[Any, str, Any, bool]]] = {}


def in_session() -> bool:
    """True while an autologged training call runs in this thread."""
    return bool(getattr(_state, "depth", 0))


class allow_nested:
    """Let the next patched call of ``flavor``'s ``name`` inside this block log too (a sklearn-API ``fit``
    whose inner ``train`` records the per-iteration metrics)."""

    def __init__(self, flavor: str, name: str) -> None:
        self.key = (flavor, name)

    def __enter__(self) -> None:
        self.saved = getattr(_state, "allow", None)
        _state.allow = self.key

    def __exit__(self, *exc: Any) -> None:
        _state.allow = self.saved


def _passes_through(flavor: str, name: str) -> bool:
    if not is_enabled(flavor):
        return True
    if in_session():
        if getattr(_state, "allow", None) == (flavor, name):
            _state.allow = None  # one level only
            return False
        return True
    return bool(get_config(flavor).get("exclusive")) and _user_run_active()


class _Original:
    """``call_original`` with a memory of whether it ran, what it returned or raised."""

    def __init__(self, fn: Callable[..., Any], owner: Any) -> None:
        self.fn, self.owner = fn, owner
        self.called = False
        self.result: Any = None
        self.error: BaseException | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.called = True
        try:
            self.result = self.fn(self.owner, *args, **kwargs)
        except BaseException as e:
            self.error = e
            raise
        return self.result


def _user_run_active() -> bool:
    from labkeep import fluent

    return fluent.active_run() is not None


def safe_patch(
    flavor: str,
    owner: type,
    name: str,
    patch_fn: Callable[..., Any],
) -> None:
    """Replace ``owner.name`` with a guarded wrapper calling ``patch_fn(call_original, self, ...)``."""
    raw = owner.__dict__.get(name)
    if getattr(raw, "_labkeep_flavor", None) == flavor:
        return  # already patched by this integration
    if raw is not None and not isinstance(raw, types.FunctionType) and hasattr(raw, "__get__"):
        # a descriptor such as sklearn's ``available_if``: keep its "is it there?" answer
        def original(self: Any, *args: Any, **kwargs: Any) -> Any:
            return raw.__get__(self, type(self))(*args, **kwargs)

        functools.update_wrapper(original, getattr(raw, "fn", raw))
    else:
        original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _passes_through(flavor, name):
            return original(self, *args, **kwargs)
        call = _Original(original, self)
        _state.depth = getattr(_state, "depth", 0) + 1
        try:
            return patch_fn(call, self, *args, **kwargs)
        except BaseException as e:
            if call.error is e or not isinstance(e, Exception):
                raise
            warn_once(flavor, f"labkeep autologging for {flavor} failed and was skipped: {e!r}")
            if call.called:
                return call.result
            return original(self, *args, **kwargs)
        finally:
            _state.depth -= 1

    wrapper._labkeep_flavor = flavor  # type: ignore[attr-defined]
    if original is not None and raw is not None and not isinstance(raw, types.FunctionType) and hasattr(raw, "__get__"):
        setattr(owner, name, _GuardedDescriptor(raw, wrapper, flavor))
    else:
        setattr(owner, name, wrapper)
    _patches.setdefault(flavor, []).append((owner, name, raw, raw is not None))


def safe_patch_function(flavor: str, module: Any, name: str, patch_fn: Callable[..., Any]) -> None:
    """Like ``safe_patch`` for a module-level function: ``patch_fn(call_original, *args, **kwargs)``."""
    original = getattr(module, name)
    if getattr(original, "_labkeep_flavor", None) == flavor:
        return

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _passes_through(flavor, name):
            return original(*args, **kwargs)
        call = _Original(lambda _owner, *a, **k: original(*a, **k), None)
        _state.depth = getattr(_state, "depth", 0) + 1
        try:
            return patch_fn(call, *args, **kwargs)
        except BaseException as e:
            if call.error is e or not isinstance(e, Exception):
                raise
            warn_once(flavor, f"labkeep autologging for {flavor} failed and was skipped: {e!r}")
            return call.result if call.called else original(*args, **kwargs)
        finally:
            _state.depth -= 1

    wrapper._labkeep_flavor = flavor  # type: ignore[attr-defined]
    setattr(module, name, wrapper)
    _patches.setdefault(flavor, []).append((module, name, original, True))


class _GuardedDescriptor:
    """Stands in for a conditional-method descriptor: absent when it is absent, else the wrapper."""

    def __init__(self, raw: Any, wrapper: Callable[..., Any], flavor: str) -> None:
        self.raw, self.wrapper, self._labkeep_flavor = raw, wrapper, flavor
        self.__doc__ = getattr(raw, "__doc__", None)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self.raw.__get__(obj, objtype)
        self.raw.__get__(obj, objtype)  # raises AttributeError when the method is unavailable
        return types.MethodType(self.wrapper, obj)


def revert_patches(flavor: str) -> None:
    """Put back every method ``flavor``'s autolog replaced."""
    for owner, name, raw, had_own in reversed(_patches.pop(flavor, [])):
        if had_own:
            setattr(owner, name, raw)
        else:
            try:
                delattr(owner, name)
            except AttributeError:
                pass


def patched(flavor: str) -> list[tuple[type, str]]:
    """(class, method) pairs currently patched for ``flavor``."""
    return [(owner, name) for owner, name, _raw, _own in _patches.get(flavor, [])]
