"""Artifact path confinement, in one place: every artifact path stays inside its artifact root.

Two checks, because paths arrive two ways:

- ``safe_relative_path`` for paths a program names (``log_artifact(..., artifact_path=...)``): file
  names may contain ``%``, so it decodes up to three times and refuses traversal in any spelling
  (``..``, ``%2e%2e%2f``, ``%252e%252e%252f``), absolute paths, backslashes, NUL, ``?`` and ``#``.
- ``safe_request_path`` for paths taken from an HTTP request, already decoded once by the router:
  anything still percent-encoded, control characters, ``~`` and ``//`` are refused as well, with
  mlflow's exact "Invalid path" text for artifact paths (clients compare it).

Local repositories also resolve symlinks (``confined_join``, ``is_inside``) and refuse targets that
leave the root.
"""

from __future__ import annotations

import os
import posixpath
import re
from urllib.parse import unquote

from labkeep.exceptions import InvalidParameterValue

_ENCODED_RE = re.compile(r"%[0-9a-fA-F]{2}")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


def _reject(path: str, why: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Invalid artifact path {path!r}: {why}.")


def safe_relative_path(path: str | None) -> str:
    """Validate a relative artifact path and return it normalized ('' for the root)."""
    if path is None:
        return ""
    if not isinstance(path, str):
        raise _reject(str(path), "expected a string")
    decoded = path
    for _ in range(3):  # catch encoded and double-encoded traversal
        if "\x00" in decoded:
            raise _reject(path, "NUL bytes are not allowed")
        if "\\" in decoded:
            raise _reject(path, "backslashes are not allowed")
        parts = decoded.split("/")
        if ".." in parts:
            raise _reject(path, "'..' segments are not allowed")
        if decoded.startswith("/") or (len(decoded) > 1 and decoded[1] == ":"):
            raise _reject(path, "absolute paths are not allowed")
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        decoded = nxt
    if "?" in path or "#" in path:
        raise _reject(path, "'?' and '#' are not allowed")
    normalized = posixpath.normpath(path) if path not in ("", ".") else ""
    if normalized in (".", "/"):
        return ""
    return normalized.lstrip("/") if normalized.startswith("./") else normalized


def safe_request_path(path: str, what: str = "artifact path") -> str:
    """Validate a relative path from a request; return it normalised (``a/b/c``, '' for the root) or raise.

    Stricter than ``safe_relative_path``: the router has decoded the URL once, so a ``%xx`` left in
    the path can only be an attempt to smuggle a second decoding past the check.
    """
    if not isinstance(path, str):
        raise InvalidParameterValue(f"Invalid {what}: expected a string.")
    bad = InvalidParameterValue(
        "Invalid path"
        if what == "artifact path"
        else f"Invalid {what} {path!r}: use a relative path without '..', backslashes, '?', '#', "
        "percent-escapes or control characters."
    )
    if any(ord(c) < 32 or c == "\x7f" for c in path) or any(c in path for c in "\\?#"):
        raise bad
    if _ENCODED_RE.search(path):
        raise bad
    if path.startswith(("/", "~")) or _DRIVE_RE.match(path):
        raise bad
    if "//" in path.rstrip("/"):
        raise bad
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise bad
    return "/".join(parts)


def is_inside(path: str, root: str) -> bool:
    """True when the local path ``path`` is ``root`` or below it, once symlinks are resolved."""
    return _within(os.path.realpath(path), os.path.realpath(root))


def _within(real: str, real_root: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def confined_join(root: str, rel_path: str | None) -> str:
    """``root/rel_path`` on the local filesystem, refusing anything that resolves outside ``root``."""
    rel = safe_relative_path(rel_path)
    root_real = os.path.realpath(root)
    target = os.path.join(root_real, *rel.split("/")) if rel else root_real
    if not _within(os.path.realpath(target), root_real):
        raise _reject(rel_path or "", "it resolves outside the artifact root (symlink?)")
    return target


def join_relative(*parts: str | None) -> str:
    """Join relative artifact paths with '/', skipping empty parts."""
    return "/".join(p for p in parts if p)
