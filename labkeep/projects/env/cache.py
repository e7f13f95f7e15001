"""The environment cache: one folder per specification hash, a lock while building, and a
"ready" marker written last, so a failed or interrupted build is never reused."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

from labkeep import config

READY_MARKER = ".labkeep-ready"


def cache_root() -> str:
    """``LABKEEP_ENV_CACHE``, else ``$XDG_CACHE_HOME/labkeep/envs``, else ``~/.cache/labkeep/envs``."""
    explicit = config.ENV_CACHE.get()
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "labkeep", "envs")


def spec_hash(spec: dict[str, Any]) -> str:
    """A short stable hash of an environment specification."""
    blob = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def is_ready(env_dir: str) -> bool:
    return os.path.isfile(os.path.join(env_dir, READY_MARKER))


def mark_ready(env_dir: str, spec: dict[str, Any]) -> None:
    """Write the marker atomically (temp file + rename): it exists complete or not at all."""
    tmp = os.path.join(env_dir, READY_MARKER + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"spec": spec, "created": time.time()}, fh, sort_keys=True, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, os.path.join(env_dir, READY_MARKER))


@contextlib.contextmanager
def build_lock(env_dir: str) -> Iterator[None]:
    """Serialize builds of the same environment across processes."""
    try:
        os.makedirs(os.path.dirname(env_dir), exist_ok=True)
        lock = open(env_dir + ".lock", "w")  # noqa: SIM115 - closed below
    except OSError as exc:
        from labkeep.projects.errors import ProjectError

        raise ProjectError(
            f"Cannot use the environment cache {os.path.dirname(env_dir)}: {exc.strerror}; "
            "point LABKEEP_ENV_CACHE at a writable folder."
        )
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def clear_partial(env_dir: str) -> None:
    """Remove a folder left by a failed or interrupted build."""
    if os.path.lexists(env_dir):
        shutil.rmtree(env_dir, ignore_errors=True)
