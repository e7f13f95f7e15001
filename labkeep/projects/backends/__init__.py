"""Where a project's command runs: ``local`` (this machine), ``ray`` (a Ray job) or ``kubernetes`` (a Job).

A remote backend is a module with three functions:

- ``parse_config(config: dict) -> object``: check ``--backend-config`` before anything is recorded;
- ``render(ctx, config) -> str``: what ``--dry-run`` prints;
- ``make_supervisor(ctx, config, echo) -> BaseSupervisor``: an object whose ``launch()`` submits the
  command and whose thread follows it, streams its log and closes the run with the outcome.
"""

from __future__ import annotations

import importlib
import json
import os
from types import ModuleType
from typing import Any

import yaml

from labkeep.projects.errors import ProjectError

BACKENDS = ("local", "ray", "kubernetes")
_MODULES = {"ray": "labkeep.projects.backends.ray", "kubernetes": "labkeep.projects.backends.kubernetes"}


def get_backend(name: str) -> ModuleType | None:
    """The backend module for ``name`` (None for ``local``); a clear error for an unknown name."""
    key = (name or "local").strip().lower()
    if key == "local":
        return None
    if key not in _MODULES:
        raise ProjectError(f"Unknown backend {name!r}; use one of {', '.join(BACKENDS)}.")
    return importlib.import_module(_MODULES[key])


def load_backend_config(value: dict[str, Any] | str | None) -> dict[str, Any]:
    """``--backend-config``: a dict, a JSON object string, or the path of a JSON/YAML file."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    if not isinstance(value, str):
        raise ProjectError(
            f"backend config must be a JSON object or a file path, not {type(value).__name__}."
        )
    text = value.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProjectError(f"--backend-config is not valid JSON: {exc}")
    elif os.path.isfile(text):
        try:
            with open(text, encoding="utf-8") as fh:
                data = yaml.safe_load(fh)  # JSON is YAML too
        except (OSError, yaml.YAMLError) as exc:
            raise ProjectError(f"Cannot read backend config file {text}: {exc}")
    else:
        raise ProjectError(
            f"--backend-config {text!r} is neither a JSON object nor an existing file; "
            'give e.g. \'{"address": "http://127.0.0.1:8265"}\' or the path of a JSON file.'
        )
    if not isinstance(data, dict):
        raise ProjectError("The backend config must be a JSON object (key: value pairs).")
    return data


def check_keys(config: dict[str, Any], known: tuple[str, ...], backend: str) -> None:
    """Reject keys a backend does not know, naming the ones it does."""
    unknown = sorted(set(config) - set(known))
    if unknown:
        raise ProjectError(
            f"Unknown {backend} backend config key(s) {', '.join(map(repr, unknown))}; "
            f"known keys: {', '.join(known)}."
        )


__all__ = ["BACKENDS", "check_keys", "get_backend", "load_backend_config"]
