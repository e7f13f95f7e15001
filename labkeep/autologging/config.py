"""Per-integration autolog settings, version checks and the one-warning-per-problem rule."""

from __future__ import annotations

import logging
import threading
import warnings
from typing import Any

_log = logging.getLogger("labkeep.autologging")
_configs: dict[str, dict[str, Any]] = {}
_warned: set[tuple[str, str]] = set()
_lock = threading.Lock()

# The options every integration understands, with mlflow's defaults.
COMMON_DEFAULTS: dict[str, Any] = {
    "log_input_examples": False,
    "log_model_signatures": True,
    "log_models": True,
    "log_datasets": True,
    "disable": False,
    "exclusive": False,
    "disable_for_unsupported_versions": False,
    "silent": False,
    "registered_model_name": None,
    "extra_tags": None,
}


_origin = threading.local()


def set_config(flavor: str, options: dict[str, Any]) -> dict[str, Any]:
    """Store the options of ``flavor``'s autolog (defaults filled in); returns them."""
    conf = {**COMMON_DEFAULTS, **options, "_universal": bool(getattr(_origin, "universal", False))}
    with _lock:
        _configs[flavor] = conf
    return conf


def get_config(flavor: str) -> dict[str, Any]:
    """The options ``flavor``'s autolog was last called with (defaults when never called)."""
    return _configs.get(flavor) or dict(COMMON_DEFAULTS, disable=True)


def set_by_user(flavor: str) -> bool:
    """True when ``labkeep.<flavor>.autolog()`` itself (not ``labkeep.autolog()``) set the options."""
    conf = _configs.get(flavor)
    return conf is not None and not conf.get("_universal")


def is_enabled(flavor: str) -> bool:
    conf = _configs.get(flavor)
    return conf is not None and not conf.get("disable")


def reset() -> None:
    """Forget every integration's settings (tests)."""
    with _lock:
        _configs.clear()
        _warned.clear()


def warn_once(flavor: str, message: str) -> None:
    """One warning per (integration, message), unless the integration is ``silent``."""
    key = (flavor, message)
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    if not get_config(flavor).get("silent"):
        warnings.warn(message, UserWarning, stacklevel=3)


def _version_tuple(text: str) -> tuple[int, ...]:
    out = []
    for part in text.split("+")[0].split("."):
        digits = "".join(ch for ch in part if ch.isdigit()) if not part.isdigit() else part
        if not digits:
            break
        out.append(int(digits))
        if not part.isdigit():
            break
    return tuple(out)


def version_supported(version: str, minimum: str, maximum: str) -> bool:
    """True when ``minimum <= version`` and ``version``'s release is not past ``maximum``."""
    v = _version_tuple(version)
    hi = _version_tuple(maximum)
    return _version_tuple(minimum) <= v and v[: len(hi)] <= hi


def check_version(flavor: str, library: str, version: str, minimum: str, maximum: str, silent: bool) -> bool:
    """Warn when ``version`` is outside the tested range; returns whether it is inside."""
    if version_supported(version, minimum, maximum):
        return True
    if not silent:
        warnings.warn(
            f"labkeep autologging for {flavor} is tested with {library} {minimum} to {maximum}; "
            f"{library} {version} is installed, so autologging may not work. Pass "
            "disable_for_unsupported_versions=True to skip it for untested versions.",
            UserWarning,
            stacklevel=3,
        )
    return False
