"""Load skops files, remembering the result as a private local pickle to skip skops next time.

``skops.io`` imports nearly all of scikit-learn (and pytest) to build its list of trusted types,
which costs seconds at every model load. After a successful skops load, the estimator is
pickled into a cache file keyed by the sha256 of the skops file, the trusted types and the
scikit-learn/Python versions. Later loads of the same bytes unpickle that file instead.

Security: the cache only ever holds objects that passed skops' type check, written by this user.
A cache file is read only if it is owned by the current user and not writable by group/others,
inside a directory with the same properties (0700). Set ``LABKEEP_SKOPS_CACHE=0`` to disable;
``LABKEEP_SKOPS_CACHE_DIR`` moves it (default ``$XDG_CACHE_HOME/labkeep/skops``).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
import tempfile
from typing import Any

from labkeep import config


def _enabled() -> bool:
    return config.SKOPS_CACHE.flag()


def cache_dir() -> str:
    explicit = config.SKOPS_CACHE_DIR.get()
    if explicit:
        return os.path.abspath(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "labkeep", "skops")


def _private(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return st.st_uid == os.getuid() and not (st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _key(path: str, trusted: list[str] | None) -> str:
    from importlib import metadata

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    try:
        sk_version = metadata.version("scikit-learn")
    except metadata.PackageNotFoundError:
        sk_version = "?"
    h.update(
        repr((sorted(trusted or []), sk_version, sys.version_info[:3], pickle.HIGHEST_PROTOCOL)).encode()
    )
    return h.hexdigest()


def load_skops(path: str, trusted: list[str] | None) -> Any:
    """``skops.io.load(path, trusted=trusted)``, served from the private cache when possible."""
    if not _enabled() or not hasattr(os, "getuid"):
        import skops.io

        return skops.io.load(path, trusted=trusted)
    directory = cache_dir()
    cached = os.path.join(directory, _key(path, trusted) + ".pkl")
    if _private(directory) and _private(cached):
        try:
            with open(cached, "rb") as f:
                return pickle.load(f)
        except Exception:  # a damaged entry: fall back to skops and rewrite it
            pass
    import skops.io

    model = skops.io.load(path, trusted=trusted)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if _private(directory):
            fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.chmod(tmp, 0o600)
            os.replace(tmp, cached)
    except Exception:  # caching is an optimisation only (read-only home, unpicklable object…)
        pass
    return model
