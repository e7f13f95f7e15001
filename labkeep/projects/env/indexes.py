"""Carry pip's package-index settings over to uv.

uv does not read pip.conf, so a machine whose packages come from local find-links or extra
indexes configured for pip would see a different package world under uv. The settings uv
itself is given (UV_* variables) always win.
"""

from __future__ import annotations

import configparser
import os

_PIP_CONFIG_FILES = ("/etc/pip.conf", "/etc/xdg/pip/pip.conf", "~/.config/pip/pip.conf", "~/.pip/pip.conf")
_UV_INDEX_VARS = ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_FIND_LINKS")


def _pip_settings() -> dict[str, str]:
    """pip's effective global settings (later files and PIP_* variables override earlier ones)."""
    settings: dict[str, str] = {}
    files = list(_PIP_CONFIG_FILES)
    xdg_dirs = os.environ.get("XDG_CONFIG_DIRS")
    if xdg_dirs:
        files[1:1] = [os.path.join(d, "pip", "pip.conf") for d in xdg_dirs.split(os.pathsep) if d]
    if os.environ.get("PIP_CONFIG_FILE"):
        files.append(os.environ["PIP_CONFIG_FILE"])
    for path in files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(os.path.expanduser(path))
        except configparser.Error:
            continue
        for section in ("global", "install"):
            if parser.has_section(section):
                settings.update({k.replace("_", "-"): v for k, v in parser.items(section)})
    for key in ("index-url", "extra-index-url", "find-links", "constraint", "no-index"):
        value = os.environ.get("PIP_" + key.upper().replace("-", "_"))
        if value:
            settings[key] = value
    return settings


def uv_index_args() -> list[str]:
    """uv options mirroring pip's index configuration, unless uv is configured itself."""
    if any(os.environ.get(v) for v in _UV_INDEX_VARS):
        return []
    settings = _pip_settings()
    args: list[str] = []
    if settings.get("no-index", "").lower() in ("1", "true", "yes", "on"):
        args.append("--no-index")
    if settings.get("index-url"):
        args += ["--index-url", settings["index-url"].split()[0]]
    extras = settings.get("extra-index-url", "").split()
    for url in extras:
        args += ["--extra-index-url", url]
    for link in settings.get("find-links", "").split():
        args += ["--find-links", link]
    for constraint in settings.get("constraint", "").split():
        if os.path.isfile(os.path.expanduser(constraint)):
            args += ["--constraint", os.path.expanduser(constraint)]
    if extras or settings.get("find-links"):
        # pip picks the best version across all indexes; uv's default stops at the first index
        # that has the package, which would hide newer or better-matching wheels.
        args += ["--index-strategy", "unsafe-best-match"]
    return args
