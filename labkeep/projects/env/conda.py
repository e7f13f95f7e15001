"""conda.yaml projects: a real conda/mamba/micromamba environment when one of them is installed,
otherwise the conda.yaml translated into a uv environment (its ``python=`` pin, its ``pip:`` list
and the conda packages under their pip names)."""

from __future__ import annotations

import os
import re
import shutil
import time
from typing import Any

import yaml

from labkeep import config
from labkeep.projects.env import cache
from labkeep.projects.env.base import Environment
from labkeep.projects.env.indexes import uv_index_args
from labkeep.projects.env.python_env import (
    PythonSpec,
    _run_step,
    build_python_env,
    code_imports_labkeep,
    find_uv,
    labkeep_install_args,
    requirement_name,
)
from labkeep.projects.errors import ProjectError
from labkeep.projects.output import say

# conda package name -> pip name, where they differ (None: a system library pip cannot provide).
CONDA_TO_PIP: dict[str, str | None] = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-lightgbm": "lightgbm",
    "matplotlib-base": "matplotlib",
    "opencv": "opencv-python",
    "py-opencv": "opencv-python",
    "tensorflow-base": "tensorflow",
    "pyyaml": "PyYAML",
    "pillow": "Pillow",
    "scikit-learn": "scikit-learn",
    "sklearn": "scikit-learn",
    "numpy": "numpy",
    "pandas": "pandas",
    "scipy": "scipy",
    "pyarrow": "pyarrow",
    "arrow-cpp": None,
    "libgcc": None,
    "libgcc-ng": None,
    "libstdcxx-ng": None,
    "cudatoolkit": None,
    "cudnn": None,
    "mkl": None,
    "blas": None,
    "openssl": None,
    "ca-certificates": None,
    "certifi": "certifi",
    "pip": None,
    "setuptools": "setuptools",
    "wheel": "wheel",
    "python": None,
}

_CONDA_DEP_RE = re.compile(r"^\s*(?:[\w.\-]+::)?([A-Za-z0-9_.\-]+)\s*(.*?)\s*$")


def read_conda_yaml(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            # Scalars stay text: an unquoted `python: 3.10` must not become the float 3.1.
            data = yaml.load(fh, Loader=yaml.BaseLoader) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ProjectError(f"Cannot read conda environment file {path}: {exc}")
    if not isinstance(data, dict) or not isinstance(data.get("dependencies", []), list):
        raise ProjectError(f"conda environment file {path} must be a mapping with a 'dependencies' list.")
    return data


def _conda_version_to_pip(spec: str) -> str:
    """``=1.24`` -> ``==1.24.*``; ``=1.24.3=py39_0`` -> ``==1.24.3``; ``>=1.2,<2`` unchanged."""
    spec = spec.strip()
    if not spec:
        return ""
    if spec[0] in "<>!~" or spec.startswith("=="):
        return spec
    version = spec.lstrip("=").split("=")[0].strip()  # drop a build string
    version = version.split()[0] if version else ""
    if not version:
        return ""
    if version.endswith("*"):
        return f"=={version}"
    return f"=={version}" if version.count(".") >= 2 else f"=={version}.*"


def translate_conda_yaml(path: str) -> tuple[PythonSpec, list[str]]:
    """The pip-world equivalent of a conda.yaml, plus the conda packages that had to be dropped."""
    data = read_conda_yaml(path)
    spec = PythonSpec(base_dir=os.path.dirname(path))
    dropped: list[str] = []
    for dep in data.get("dependencies") or []:
        if isinstance(dep, dict):
            pip_list = dep.get("pip") or []
            if not isinstance(pip_list, list):
                raise ProjectError(f"{path}: the 'pip:' entry must be a list of requirements.")
            spec.dependencies += [str(p) for p in pip_list]
            continue
        match = _CONDA_DEP_RE.match(str(dep))
        if not match:
            continue
        name, version = match.group(1).lower(), match.group(2)
        if name == "python":
            pin = _conda_version_to_pip(version)
            # Only an exact pin names a version; a range (python>=3.8) means "any recent one".
            spec.python = pin[2:].replace(".*", "") if pin.startswith("==") else None
            continue
        if name in CONDA_TO_PIP and CONDA_TO_PIP[name] is None:
            if name not in ("pip", "python"):
                dropped.append(name)
            continue
        if name.startswith("r-"):
            dropped.append(name)
            continue
        spec.dependencies.append(f"{CONDA_TO_PIP.get(name, name)}{_conda_version_to_pip(version)}")
    return spec, dropped


def find_conda() -> str | None:
    """``LABKEEP_CONDA_EXE``, then conda, mamba, micromamba on PATH."""
    explicit = config.CONDA_EXE.get()
    if explicit:
        return explicit
    for name in ("conda", "mamba", "micromamba"):
        found = shutil.which(name)
        if found:
            return found
    return None


def conda_create_argv(exe: str, prefix: str, env_file: str) -> list[str]:
    if os.path.basename(exe).startswith("micromamba"):
        return [exe, "create", "--yes", "--prefix", prefix, "--file", env_file]
    return [exe, "env", "create", "--prefix", prefix, "--file", env_file]


def build_conda_env(env_file: str, exe: str, project_dir: str | None = None) -> Environment:
    """Create (or reuse) a real conda environment for ``env_file`` with ``exe``.

    When the project's code imports labkeep and the conda.yaml does not list it, the running
    labkeep is installed into the new environment afterwards.
    """
    with open(env_file, "rb") as fh:
        content = fh.read().decode("utf-8", "replace")
    add_labkeep = _needs_labkeep(env_file, project_dir)
    key: dict[str, Any] = {"kind": "conda", "file": content, "tool": os.path.basename(exe)}
    if add_labkeep:
        key["labkeep"] = labkeep_install_args()
    env_dir = os.path.join(cache.cache_root(), f"conda-{cache.spec_hash(key)}")
    bin_dir = os.path.join(env_dir, "bin")
    python = os.path.join(bin_dir, "python")
    if cache.is_ready(env_dir):
        return Environment(kind="conda", prefix=env_dir, bin_dir=bin_dir, python=python, reused=True)
    with cache.build_lock(env_dir):
        if cache.is_ready(env_dir):
            return Environment(kind="conda", prefix=env_dir, bin_dir=bin_dir, python=python, reused=True)
        cache.clear_partial(env_dir)
        started = time.monotonic()
        say(f"creating conda environment with {exe} in {env_dir}")
        try:
            _run_step(conda_create_argv(exe, env_dir, env_file), f"{os.path.basename(exe)} env create")
            if not os.path.isdir(env_dir):
                raise ProjectError(f"{exe} reported success but created no environment at {env_dir}.")
            if add_labkeep:
                say("project code imports labkeep: installing the running labkeep into the conda environment")
                _install_into(python, labkeep_install_args())
            cache.mark_ready(env_dir, key)
        except BaseException:
            cache.clear_partial(env_dir)
            raise
        elapsed = time.monotonic() - started
        say(f"environment ready in {elapsed:.1f}s")
        return Environment(
            kind="conda", prefix=env_dir, bin_dir=bin_dir, python=python, build_seconds=elapsed
        )


def _needs_labkeep(env_file: str, project_dir: str | None) -> bool:
    if not project_dir or not code_imports_labkeep(project_dir):
        return False
    spec, _ = translate_conda_yaml(env_file)
    return not any(requirement_name(d) == "labkeep" for d in spec.dependencies)


def _install_into(python: str, args: list[str]) -> None:
    """Install into the environment of ``python``: with uv when available, else its own pip."""
    uv = find_uv()
    if uv:
        env = dict(os.environ)
        env.pop("VIRTUAL_ENV", None)
        _run_step(
            [uv, "pip", "install", "--python", python, *uv_index_args(), *args], "installing labkeep", env
        )
    else:
        _run_step([python, "-m", "pip", "install", *args], "installing labkeep")


def build_translated_env(env_file: str, manager: str = "uv", project_dir: str | None = None) -> Environment:
    """conda.yaml without conda: the same packages in a uv environment."""
    spec, dropped = translate_conda_yaml(env_file)
    note = f"; skipped conda-only packages: {', '.join(dropped)}" if dropped else ""
    say(
        f"conda is not installed: using {os.path.basename(env_file)} as a {manager} environment "
        f"(python {spec.python or 'current'}, pip packages: {', '.join(spec.dependencies) or 'none'}){note}"
    )
    env = build_python_env(spec, manager=manager, project_dir=project_dir)
    env.tags["labkeep.project.envTranslatedFrom"] = "conda"
    return env
