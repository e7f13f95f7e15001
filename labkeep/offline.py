"""Offline logging: keep logging to a local store when the tracking server is out of reach.

``LABKEEP_MODE`` (or ``labkeep.init(mode=...)``) chooses: ``online`` (default) logs where the
tracking URI says; ``offline`` logs to the local offline store even when the URI is a server;
``auto`` probes the server once per process and, when it does not answer, logs locally and says
so once. The server's URL is remembered beside the offline store, so ``labkeep sync`` knows
where to push. The offline store lives in ``LABKEEP_OFFLINE_DIR`` (default ``~/.labkeep/offline``).
"""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import urlparse

from labkeep import config

MODES = ("online", "offline", "auto")
TARGET_FILE = "sync-target"

_mode: str | None = None
_reachable: dict[str, bool] = {}
_told: set[str] = set()
_remembered: set[str] = set()


def init(mode: str | None = None) -> None:
    """Set the logging mode for this process: "online", "offline" or "auto" (None: back to LABKEEP_MODE)."""
    global _mode
    if mode is not None and mode not in MODES:
        from labkeep.exceptions import InvalidParameterValue

        raise InvalidParameterValue(f"mode must be one of {', '.join(MODES)}; got {mode!r}.")
    _mode = mode
    _reachable.clear()


def get_mode() -> str:
    mode = _mode or (config.MODE.get() or "online").strip().lower()
    return mode if mode in MODES else "online"


def offline_dir() -> str:
    return os.path.abspath(os.path.expanduser(config.OFFLINE_DIR.get() or "~/.labkeep/offline"))


def offline_store_uri() -> str:
    return f"sqlite:///{os.path.join(offline_dir(), 'labkeep.db')}"


def remembered_target() -> str | None:
    """The server the offline store was meant for (written when logging went offline)."""
    try:
        with open(os.path.join(offline_dir(), TARGET_FILE), encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


def _server_answers(uri: str) -> bool:
    if uri not in _reachable:
        parsed = urlparse(uri)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            with socket.create_connection((parsed.hostname or "127.0.0.1", port), timeout=2.0):
                _reachable[uri] = True
        except OSError:
            _reachable[uri] = False
    return _reachable[uri]


def route(uri: str) -> str:
    """The store to log to for tracking URI ``uri`` under the current mode."""
    if not uri.startswith(("http://", "https://")):
        return uri
    mode = get_mode()
    if mode == "online" or (mode == "auto" and _server_answers(uri)):
        return uri
    folder = offline_dir()
    if uri not in _remembered:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, TARGET_FILE), "w", encoding="utf-8") as f:
            f.write(uri + "\n")
        _remembered.add(uri)
    if mode == "auto" and uri not in _told:
        _told.add(uri)
        print(
            f"labkeep: the tracking server {uri} does not answer; logging to the offline store {folder}."
            " Run `labkeep sync` when it is back: nothing logged is lost.",
            file=sys.stderr,
        )
    return offline_store_uri()
