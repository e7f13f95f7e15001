"""Virtual environments for python_env.yaml (and translated conda.yaml) projects, built with uv.

uv is a dependency of labkeep; when its binary cannot be found the same environment is built
with ``python -m venv`` and pip. Environments live in the cache (see :mod:`.cache`) keyed by
the specification, the contents of referenced requirement files and the Python version.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import yaml

from labkeep import config
from labkeep.projects.env import cache
from labkeep.projects.env.base import Environment
from labkeep.projects.env.indexes import uv_index_args
from labkeep.projects.env.interpreters import Interpreter, find_python
from labkeep.projects.errors import ProjectError
from labkeep.projects.output import say

HEARTBEAT_SECONDS = 15.0  # a "still working" line after this long without installer output
_REQ_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._\-]*)\s*(\[[^\]]*\])?\s*(.*)$")


@dataclass
class PythonSpec:
    """What a virtual environment must contain."""

    python: str | None = None
    build_dependencies: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    base_dir: str = "."  # where relative ``-r file`` lines are resolved

    def packages_summary(self) -> str:
        names = [d for d in self.build_dependencies + self.dependencies]
        return ", ".join(names) if names else "no packages"


def read_python_env(path: str) -> PythonSpec:
    """Parse a python_env.yaml (``python``, ``build_dependencies``, ``dependencies``)."""
    try:
        with open(path, encoding="utf-8") as fh:
            # Scalars stay text: an unquoted `python: 3.10` must not become the float 3.1.
            data = yaml.load(fh, Loader=yaml.BaseLoader) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ProjectError(f"Cannot read python_env file {path}: {exc}")
    if not isinstance(data, dict):
        raise ProjectError(
            f"python_env file {path} must be a mapping with python/build_dependencies/dependencies."
        )
    spec = PythonSpec(
        python=None if data.get("python") is None else str(data["python"]), base_dir=os.path.dirname(path)
    )
    for key in ("build_dependencies", "dependencies"):
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            raise ProjectError(f"python_env file {path}: {key!r} must be a list of requirement strings.")
        setattr(spec, key, [str(v) for v in value])
    return spec


def requirement_name(line: str) -> str | None:
    """The normalized distribution name of a requirement line, or None for options/paths."""
    line = line.strip()
    if not line or line.startswith(("-", "#", ".", "/")) or "://" in line:
        return None
    match = _REQ_NAME_RE.match(line)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else None


def labkeep_install_args() -> list[str]:
    """How to install the running labkeep into another environment (source folder when it has one)."""
    from importlib import metadata

    try:
        dist = metadata.distribution("labkeep")
    except metadata.PackageNotFoundError:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        return [os.path.dirname(os.path.dirname(root))]
    direct = dist.read_text("direct_url.json")
    if direct:
        info = json.loads(direct)
        url = info.get("url", "")
        if url.startswith("file://"):
            path = url[len("file://") :]
            return ["-e", path] if info.get("dir_info", {}).get("editable") else [path]
    return [f"labkeep=={dist.version}"]


def _read_requirement_file(path: str, origin: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            return [line.strip() for line in fh if line.strip() and not line.strip().startswith("#")]
    except OSError:
        raise ProjectError(f"Requirement file {path} (from {origin!r}) does not exist.")


def _expand(spec: PythonSpec) -> tuple[list[str], list[str]]:
    """(install arguments, hashed content): ``-r`` files read for the hash, labkeep substituted."""
    args: list[str] = []
    hashed: list[str] = []
    for line in spec.build_dependencies + spec.dependencies:
        stripped = line.strip()
        if stripped.startswith(("-r ", "--requirement ", "-c ", "--constraint ")):
            flag, _, rel = stripped.partition(" ")
            path = os.path.join(spec.base_dir, rel.strip())
            lines = _read_requirement_file(path, stripped)
            if flag in ("-r", "--requirement") and any(requirement_name(x) == "labkeep" for x in lines):
                # Inline the file so its labkeep line can be replaced like a top-level one.
                inner_args, inner_hashed = _expand(
                    PythonSpec(dependencies=lines, base_dir=os.path.dirname(path))
                )
                args += inner_args
                hashed += inner_hashed
                continue
            hashed.append(f"{flag} " + "\n".join(lines))
            args += [flag, path]
        elif requirement_name(stripped) == "labkeep":
            # labkeep itself: install the copy that is running, so the child matches this labkeep.
            install = labkeep_install_args()
            args += install
            hashed.append("labkeep:" + " ".join(install) + ":" + _labkeep_version())
        elif stripped:
            args.append(stripped)
            hashed.append(stripped)
    return args, hashed


_IMPORTS_LABKEEP_RE = re.compile(rb"^[ \t]*(?:import[ \t]+labkeep\b|from[ \t]+labkeep[ \t.])", re.M)
_SKIPPED_DIRS = {"__pycache__", "node_modules", "site-packages", "venv", "env"}


def code_imports_labkeep(directory: str, max_files: int = 2000) -> bool:
    """Whether any ``.py`` file of the project imports labkeep (hidden and venv folders skipped)."""
    seen = 0
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS]
        for name in files:
            if not name.endswith(".py"):
                continue
            seen += 1
            if seen > max_files:
                return False
            try:
                with open(os.path.join(root, name), "rb") as fh:
                    if _IMPORTS_LABKEEP_RE.search(fh.read(1_000_000)):
                        return True
            except OSError:
                continue
    return False


def _mentions_labkeep(spec: PythonSpec) -> bool:
    for line in spec.build_dependencies + spec.dependencies:
        stripped = line.strip()
        if requirement_name(stripped) == "labkeep":
            return True
        if stripped.startswith(("-r ", "--requirement ")):
            path = os.path.join(spec.base_dir, stripped.partition(" ")[2].strip())
            if os.path.isfile(path) and any(
                requirement_name(x) == "labkeep" for x in _read_requirement_file(path, stripped)
            ):
                return True
    return False


def _labkeep_min_python() -> tuple[int, int]:
    from importlib import metadata

    try:
        requires = (metadata.metadata("labkeep").get_all("Requires-Python") or [""])[0] or ""
    except metadata.PackageNotFoundError:
        requires = ""
    match = re.search(r">=\s*(\d+)\.(\d+)", requires)
    return (int(match.group(1)), int(match.group(2))) if match else (3, 10)


def add_labkeep_if_imported(spec: PythonSpec, project_dir: str | None) -> None:
    """Make ``import labkeep`` work in the environment: add labkeep when the project's code
    imports it, and raise a too-old Python pin to the oldest version labkeep supports."""
    if project_dir and not _mentions_labkeep(spec) and code_imports_labkeep(project_dir):
        say("project code imports labkeep: adding the running labkeep to the environment")
        spec.dependencies = [*spec.dependencies, "labkeep"]
    if not _mentions_labkeep(spec) or not spec.python:
        return
    match = re.match(r"(\d+)\.(\d+)", spec.python)
    minimum = _labkeep_min_python()
    if match and (int(match.group(1)), int(match.group(2))) < minimum:
        wanted = f"{minimum[0]}.{minimum[1]}"
        say(
            f"warning: labkeep needs Python >= {wanted}; building with Python {wanted} instead of the requested {spec.python}."
        )
        spec.python = wanted


def _labkeep_version() -> str:
    from labkeep.version import __version__

    return __version__


def find_uv() -> str | None:
    """The uv binary: ``LABKEEP_UV`` (``0`` disables uv), next to this Python, the uv package, PATH."""
    explicit = config.UV.raw()
    if explicit is not None:
        if explicit.strip().lower() in ("", "0", "false", "no", "none"):
            return None
        return explicit
    here = os.path.join(os.path.dirname(sys.executable), "uv")
    if os.access(here, os.X_OK):
        return here
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except Exception:  # noqa: BLE001 - the uv package is optional at this point; fall through to PATH
        pass
    return shutil.which("uv")


def _bin_dir(prefix: str) -> str:
    return os.path.join(prefix, "Scripts" if os.name == "nt" else "bin")


def _run_step(argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
    """Run an installer step, streaming its output indented; raise with its last lines on failure."""
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True, bufsize=1
    )
    tail: list[str] = []
    assert proc.stdout is not None
    started = time.monotonic()
    last_output = [started]
    done = threading.Event()

    def heartbeat() -> None:
        # Installers go quiet for long stretches (downloads, builds); say that time is passing.
        while not done.wait(min(5.0, HEARTBEAT_SECONDS)):
            if time.monotonic() - last_output[0] >= HEARTBEAT_SECONDS:
                say(f"{what}: still working ({time.monotonic() - started:.0f}s elapsed)")
                last_output[0] = time.monotonic()

    ticker = threading.Thread(target=heartbeat, daemon=True)
    ticker.start()
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            if line.strip():
                sys.stderr.write(f"    {line}\n")
                sys.stderr.flush()
                tail = (tail + [line])[-15:]
                last_output[0] = time.monotonic()
        code = proc.wait()
    except BaseException:
        # Interrupted: stop the installer before the caller removes its half-built folder.
        proc.kill()
        proc.wait()
        raise
    finally:
        done.set()
    if code != 0:
        # The full output was just streamed; the message keeps the lines that say what went wrong.
        errors = [
            line.strip() for line in tail if "error" in line.lower() or line.lstrip().startswith(("×", "╰"))
        ]
        detail = " | ".join(errors[-4:] or tail[-1:]) or "(no output)"
        raise ProjectError(f"{what} failed (exit {code}): {detail}")


def build_python_env(
    spec: PythonSpec, manager: str = "uv", label: str | None = None, project_dir: str | None = None
) -> Environment:
    """Build (or reuse from the cache) a virtual environment for ``spec``.

    With ``project_dir``, code that imports labkeep gets labkeep installed (see
    :func:`add_labkeep_if_imported`).
    """
    add_labkeep_if_imported(spec, project_dir)
    interp = find_python(spec.python)
    install_args, hashed = _expand(spec)
    uv = find_uv()
    key: dict[str, Any] = {
        "kind": "python_env",
        "python": interp.version,
        "requirements": hashed,
        "platform": sys.platform,
        "builder": "uv" if uv else "venv",
    }
    digest = cache.spec_hash(key)
    env_dir = os.path.join(cache.cache_root(), f"{manager}-{digest}")
    bin_dir = _bin_dir(env_dir)
    python = os.path.join(bin_dir, "python")
    if cache.is_ready(env_dir):
        return Environment(kind=manager, prefix=env_dir, bin_dir=bin_dir, python=python, reused=True)
    with cache.build_lock(env_dir):
        if cache.is_ready(env_dir):  # another process built it while we waited
            return Environment(kind=manager, prefix=env_dir, bin_dir=bin_dir, python=python, reused=True)
        cache.clear_partial(env_dir)
        started = time.monotonic()
        tool = "uv" if uv else "venv + pip"
        say(f"building {manager} environment with {tool} (Python {interp.version}) in {env_dir}")
        if install_args:
            say(f"installing: {' '.join(install_args)}")
        try:
            if uv:
                _build_with_uv(uv, interp, env_dir, install_args)
            else:
                _build_with_venv(interp, env_dir, install_args)
            cache.mark_ready(env_dir, key)
        except BaseException:
            cache.clear_partial(env_dir)
            raise
        elapsed = time.monotonic() - started
        say(f"environment ready in {elapsed:.1f}s{f' ({label})' if label else ''}")
        return Environment(
            kind=manager, prefix=env_dir, bin_dir=bin_dir, python=python, build_seconds=elapsed
        )


def _build_with_uv(uv: str, interp: Interpreter, env_dir: str, install_args: list[str]) -> None:
    env = dict(os.environ, UV_PYTHON_DOWNLOADS="never")
    env.pop("VIRTUAL_ENV", None)
    _run_step(
        [uv, "venv", "--quiet", "--no-python-downloads", "--python", interp.path, env_dir],
        "creating the virtual environment",
        env,
    )
    if install_args:
        argv = [
            uv,
            "pip",
            "install",
            "--python",
            os.path.join(_bin_dir(env_dir), "python"),
            *uv_index_args(),
            *install_args,
        ]
        _run_step(argv, "installing requirements with uv", env)
        _compile_bytecode(os.path.join(_bin_dir(env_dir), "python"), env_dir)


# Installer tooling the entry point never imports: not worth compiling.
_NOT_COMPILED = r"[/\\](pip|setuptools|wheel|pkg_resources|_distutils_hack)[/\\]"


def _compile_bytecode(python: str, env_dir: str) -> None:
    """Compile the installed packages once, as pip does, so no run recompiles them (where
    PYTHONDONTWRITEBYTECODE is set, Python would otherwise recompile on every start)."""
    import glob

    for site in glob.glob(os.path.join(env_dir, "lib", "python*", "site-packages")):
        subprocess.run(
            [python, "-m", "compileall", "-q", "-x", _NOT_COMPILED, site],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,  # a package with a file that does not compile still works as source
        )


def _build_with_venv(interp: Interpreter, env_dir: str, install_args: list[str]) -> None:
    _run_step([interp.path, "-m", "venv", env_dir], "creating the virtual environment (python -m venv)")
    if install_args:
        python = os.path.join(_bin_dir(env_dir), "python")
        _run_step(
            [python, "-m", "pip", "install", "--disable-pip-version-check", *install_args],
            "installing requirements with pip",
        )
