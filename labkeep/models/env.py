"""Environment files saved with a model: requirements.txt, python_env.yaml, conda.yaml (docs/reference/formats.md, environment files).

Requirements are the flavor's packages pinned to the installed versions (no subprocess import
probing, so saving is instant). ``pip_requirements`` replaces them, ``extra_pip_requirements``
adds to them; either may be a list of strings or the path of a requirements file.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable

import yaml

from labkeep.exceptions import InvalidParameterValue

REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"
CONSTRAINTS_FILE = "constraints.txt"


def installed_version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def pinned(dist: str) -> str:
    """``dist==<installed version>``, or the bare name when not installed."""
    version = installed_version(dist)
    if version and "+" in version:  # local versions (e.g. +cpu) are not on indexes
        version = version.split("+", 1)[0]
    return f"{dist}=={version}" if version else dist


def python_version() -> str:
    return platform.python_version()


def _read_requirement_lines(reqs: str | os.PathLike | Iterable[str]) -> list[str]:
    if isinstance(reqs, (str, os.PathLike)):
        path = os.fspath(reqs)
        if not os.path.isfile(path):
            raise InvalidParameterValue(f"Requirements file {path} does not exist.")
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    else:
        lines = [str(r) for r in reqs]
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def resolve_requirements(
    default: list[str],
    pip_requirements: str | os.PathLike | Iterable[str] | None = None,
    extra_pip_requirements: str | os.PathLike | Iterable[str] | None = None,
) -> tuple[list[str], list[str]]:
    """Final (requirements, constraints). Constraint lines (``-c file``) are split out."""
    if pip_requirements is not None and extra_pip_requirements is not None:
        raise InvalidParameterValue("Pass only one of pip_requirements and extra_pip_requirements.")
    if pip_requirements is not None:
        reqs = _read_requirement_lines(pip_requirements)
    else:
        reqs = list(default)
        if extra_pip_requirements is not None:
            extra = _read_requirement_lines(extra_pip_requirements)
            names = {_req_name(r) for r in extra}
            reqs = [r for r in reqs if _req_name(r) not in names] + extra
    constraints: list[str] = []
    final: list[str] = []
    for r in reqs:
        if r.startswith("-c "):
            constraints.extend(_read_requirement_lines(r[3:].strip()))
        else:
            final.append(r)
    seen: set[str] = set()
    unique = []
    for r in final:
        if r not in seen:
            seen.add(r)
            unique.append(r)
    return unique, constraints


def _req_name(req: str) -> str:
    import re

    m = re.match(r"\s*([A-Za-z0-9_.\-]+)", req)
    return m.group(1).lower().replace("_", "-") if m else req


def write_env_files(
    model_dir: str,
    default_requirements: list[str],
    pip_requirements=None,
    extra_pip_requirements=None,
    conda_env: str | dict | None = None,
) -> list[str]:
    """Write requirements.txt, python_env.yaml, conda.yaml (+ constraints.txt) and return requirements."""
    reqs, constraints = resolve_requirements(default_requirements, pip_requirements, extra_pip_requirements)
    if conda_env is not None:
        env = conda_env if isinstance(conda_env, dict) else yaml.safe_load(open(conda_env, encoding="utf-8"))
        for dep in env.get("dependencies", []):
            if isinstance(dep, dict) and "pip" in dep:
                reqs = [str(r) for r in dep["pip"]]
    pip_pin = installed_version("pip")
    setuptools_pin = installed_version("setuptools")
    with open(os.path.join(model_dir, REQUIREMENTS_FILE), "w", encoding="utf-8") as f:
        f.write("\n".join(reqs))
    if constraints:
        with open(os.path.join(model_dir, CONSTRAINTS_FILE), "w", encoding="utf-8") as f:
            f.write("\n".join(constraints))
    py = python_version()
    python_env = {
        "python": py,
        "build_dependencies": [
            f"pip=={pip_pin}" if pip_pin else "pip",
            f"setuptools=={setuptools_pin}" if setuptools_pin else "setuptools",
            "wheel",
        ],
        "dependencies": ["-r requirements.txt"] + (["-c constraints.txt"] if constraints else []),
    }
    with open(os.path.join(model_dir, PYTHON_ENV_FILE), "w", encoding="utf-8") as f:
        yaml.safe_dump(python_env, f, sort_keys=False, default_flow_style=False)
    if conda_env is None:
        conda = {
            "channels": ["conda-forge"],
            "dependencies": [f"python={py}", f"pip<={pip_pin}" if pip_pin else "pip", {"pip": list(reqs)}],
            "name": "mlflow-env",
        }
    else:
        conda = (
            conda_env if isinstance(conda_env, dict) else yaml.safe_load(open(conda_env, encoding="utf-8"))
        )
    with open(os.path.join(model_dir, CONDA_ENV_FILE), "w", encoding="utf-8") as f:
        yaml.safe_dump(conda, f, default_flow_style=False)
    return reqs


def read_requirements(model_dir: str) -> list[str]:
    path = os.path.join(model_dir, REQUIREMENTS_FILE)
    if not os.path.exists(path):
        return []
    return _read_requirement_lines(path)
