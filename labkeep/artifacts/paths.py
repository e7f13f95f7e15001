"""Artifact path confinement: every artifact path stays inside its artifact root.

Rejected in all spellings: ``..`` segments, absolute paths, backslashes, NUL bytes, percent-encoded
and double-encoded traversal (``%2e%2e%2f``, ``%252e%252e%252f``), and ``?``/``#`` tricks. Local
repositories additionally resolve symlinks and refuse targets that leave the root.
"""

from __future__ import annotations

import os
import posixpath
from urllib.parse import unquote

from labkeep.exceptions import InvalidParameterValue


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


def confined_join(root: str, rel_path: str | None) -> str:
    """``root/rel_path`` on the local filesystem, refusing anything that resolves outside ``root``."""
    rel = safe_relative_path(rel_path)
    root_real = os.path.realpath(root)
    target = os.path.join(root_real, *rel.split("/")) if rel else root_real
    real = os.path.realpath(target)
    if real != root_real and not real.startswith(root_real + os.sep):
        raise _reject(rel_path or "", "it resolves outside the artifact root (symlink?)")
    return target
