"""Typed parameter resolution and shell-safe command building.

Every value substituted into a command template is shell-quoted, so ``1; rm -rf ~`` or ``$(id)``
reaches the program as one literal argument.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from dataclasses import dataclass
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.projects.spec import EntryPoint, Parameter

_INT_RE = re.compile(r"^[+-]?\d+$")
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:(//)?\S")
# Windows drive letters look like a one-letter scheme; they are paths, not URIs.
_DRIVE_RE = re.compile(r"^[A-Za-z]:[\\/]")


@dataclass(frozen=True)
class ResolvedCommand:
    """The shell command to run and the params to record (as the user gave them)."""

    command: str
    params_to_log: dict[str, str]
    resolved: dict[str, str]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def looks_like_uri(value: str) -> bool:
    return bool(_URI_RE.match(value)) and not _DRIVE_RE.match(value)


def check_scalar(ptype: str, value: Any) -> str | None:
    """Why ``value`` does not fit ``ptype``, or None when it does (path existence is checked later)."""
    text = _text(value).strip()
    if ptype == "int":
        if isinstance(value, float) and not value.is_integer():
            return "not a whole number"
        if isinstance(value, bool) or not (
            _INT_RE.match(text) or (isinstance(value, float) and value.is_integer())
        ):
            return "not an integer"
    elif ptype == "float":
        if isinstance(value, bool):
            return "not a number"
        try:
            number = float(text)
        except ValueError:
            return "not a number"
        if math.isnan(number) and text.lower() != "nan":
            return "not a number"
    elif ptype == "uri":
        if not looks_like_uri(text):
            return "not a URI (expected scheme:..., e.g. s3://bucket/key or file:///abs/path)"
    elif ptype == "path":
        if not text:
            return "empty path"
    return None


def _resolve_path(param: Parameter, value: str, project_dir: str, storage_dir: str | None) -> str:
    if looks_like_uri(value) and not value.startswith("file:"):
        return _download(param, value, storage_dir)
    local = value[len("file://") :] if value.startswith("file://") else value
    local = local[len("file:") :] if local.startswith("file:") else local
    local = os.path.expanduser(local)
    absolute = os.path.normpath(local if os.path.isabs(local) else os.path.join(project_dir, local))
    if not os.path.exists(absolute):
        raise InvalidParameterValue(
            f"Parameter {param.name!r} (type path): {absolute} does not exist; pass an existing file or folder."
        )
    return absolute


def _download(param: Parameter, uri: str, storage_dir: str | None) -> str:
    """Fetch a remote ``path`` parameter into the run's storage dir and return the local path."""
    import tempfile

    target = storage_dir or tempfile.mkdtemp(prefix="labkeep-param-")
    os.makedirs(target, exist_ok=True)
    try:
        from labkeep.artifacts import get_artifact_repository

        parent, _, base = uri.rstrip("/").rpartition("/")
        repo = get_artifact_repository(parent)
        return repo.download_artifacts(base, dst_path=target)
    except Exception as exc:  # noqa: BLE001 - any failure becomes one clear message
        raise InvalidParameterValue(f"Parameter {param.name!r} (type path): could not download {uri}: {exc}")


def resolve_command(
    entry_point: EntryPoint,
    user_params: dict[str, Any] | None,
    project_dir: str,
    storage_dir: str | None = None,
) -> ResolvedCommand:
    """Check and substitute parameters into ``entry_point.command``.

    Declared parameters are type-checked; undeclared ``-P`` ones are appended as ``--key value``.
    """
    user_params = {str(k): v for k, v in (user_params or {}).items()}
    declared = entry_point.parameters
    missing = [p.name for p in declared.values() if p.required and user_params.get(p.name) is None]
    if missing:
        flags = " ".join(f"-P {m}=..." for m in missing)
        raise InvalidParameterValue(
            f"Entry point {entry_point.name!r} is missing required parameter(s) {', '.join(missing)}; pass {flags}."
        )
    to_log: dict[str, str] = {}
    resolved: dict[str, str] = {}
    for name, param in declared.items():
        raw = user_params[name] if user_params.get(name) is not None else param.default
        problem = check_scalar(param.type, raw)
        if problem:
            raise InvalidParameterValue(
                f"Parameter {name!r} of entry point {entry_point.name!r} must be {param.type}: {_text(raw)!r} is {problem}."
            )
        text = _text(raw).strip() if param.type in ("int", "float", "uri") else _text(raw)
        to_log[name] = text
        resolved[name] = (
            _resolve_path(param, text, project_dir, storage_dir) if param.type == "path" else text
        )
    command = entry_point.command.format(**{k: shlex.quote(v) for k, v in resolved.items()})
    extras = [(k, _text(v)) for k, v in user_params.items() if k not in declared and v is not None]
    for key, value in extras:
        command += f" --{shlex.quote(key)} {shlex.quote(value)}"
        to_log[key] = value
    return ResolvedCommand(command=command, params_to_log=to_log, resolved=resolved)


def parse_param_args(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` -> ``{"a": "1", "b": "x=y"}`` (the CLI's ``-P key=value``)."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidParameterValue(f"Parameter {pair!r} must look like key=value.")
        if key.strip() in result:
            raise InvalidParameterValue(f"Parameter {key.strip()!r} is given twice.")
        result[key.strip()] = value
    return result
