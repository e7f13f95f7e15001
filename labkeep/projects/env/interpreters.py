"""Find Python interpreters on this machine (pyenv versions count) and pick one for a requested version."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache

from labkeep.projects.output import say

_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: str  # "3.9.18"

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def _current_version() -> str:
    return ".".join(str(p) for p in sys.version_info[:3])


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _probe(path: str) -> str | None:
    try:
        out = subprocess.run(
            [path, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _sorted_unique(found: dict[str, Interpreter]) -> tuple[Interpreter, ...]:
    """One interpreter per exact version, newest first."""
    by_version: dict[str, Interpreter] = {}
    for interp in found.values():
        by_version.setdefault(interp.version, interp)
    return tuple(sorted(by_version.values(), key=lambda i: _version_tuple(i.version), reverse=True))


@lru_cache(maxsize=1)
def _known() -> dict[str, Interpreter]:
    """The current interpreter and pyenv's versions: found without starting any process."""
    found: dict[str, Interpreter] = {}
    base = getattr(sys, "_base_executable", None) or sys.executable
    found[os.path.realpath(base)] = Interpreter(base, _current_version())
    for path in sorted(glob.glob(os.path.join(_pyenv_root(), "versions", "*", "bin", "python3"))):
        name = os.path.basename(os.path.dirname(os.path.dirname(path)))
        if re.fullmatch(r"3\.\d+\.\d+", name):
            found.setdefault(os.path.realpath(path), Interpreter(path, name))
    return found


def _pyenv_root() -> str:
    return os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")


@lru_cache(maxsize=1)
def available_interpreters() -> tuple[Interpreter, ...]:
    """Every CPython 3 found: the current one, pyenv's versions, and pythonX.Y on PATH (probed)."""
    found = dict(_known())
    shims = os.path.realpath(os.path.join(_pyenv_root(), "shims"))
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or os.path.realpath(directory) == shims:
            continue  # shims resolve through pyenv's own selection; the real versions are known
        for path in glob.glob(os.path.join(directory, "python3.[0-9]*")):
            if not re.fullmatch(r"python3\.\d+", os.path.basename(path)) or not os.access(path, os.X_OK):
                continue
            real = os.path.realpath(path)
            if real in found:
                continue
            version = _probe(path)
            if version:
                found[real] = Interpreter(path, version)
    return _sorted_unique(found)


def describe_available() -> str:
    return ", ".join(i.version for i in available_interpreters())


def find_python(requested: str | None) -> Interpreter:
    """The interpreter to build an environment with for ``requested`` (``"3.9"``, ``"3.11.7"``, None).

    An exact version wins; otherwise the newest patch release of the same minor version (said
    so). When this machine has no interpreter of that minor version, the current interpreter is
    used with a warning that lists the versions available (a run that cannot start helps nobody;
    the warning makes the difference visible).
    """
    known = _sorted_unique(_known())
    current = next(i for i in known if i.version == _current_version())
    if not requested:
        return current
    match = _VERSION_RE.search(str(requested))
    if not match:
        say(f"warning: cannot read Python version {requested!r}; using Python {current.version}.")
        return current
    major, minor, patch = match.group(1), match.group(2), match.group(3)
    wanted_minor = f"{major}.{minor}"
    # Cheap candidates first; interpreters on PATH are probed only when those do not match.
    interpreters = known
    if not any(i.minor == wanted_minor for i in known) or (
        patch is not None and not any(i.version == f"{wanted_minor}.{patch}" for i in known)
    ):
        interpreters = available_interpreters()
    if patch is not None:
        for interp in interpreters:
            if interp.version == f"{wanted_minor}.{patch}":
                return interp
    same_minor = [i for i in interpreters if i.minor == wanted_minor]
    if same_minor:
        chosen = same_minor[0]
        if patch is not None:
            say(f"Python {requested} is not installed here; using {chosen.version} (same minor version).")
        return chosen
    say(
        f"warning: Python {requested} is not available on this machine (available: {describe_available()}); "
        f"using Python {current.version} instead."
    )
    return current
