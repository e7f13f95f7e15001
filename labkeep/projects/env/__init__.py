"""Environment managers: pick one for a project and return a ready :class:`Environment`."""

from __future__ import annotations

import os
import sys

from labkeep.projects.env.base import Environment
from labkeep.projects.errors import ProjectError
from labkeep.projects.spec import Project

ENV_MANAGERS = ("local", "uv", "virtualenv", "conda", "docker")


def choose_manager(project: Project, requested: str | None) -> str:
    """The manager to use: ``requested`` when given, else the one the project's files call for."""
    if requested is not None:
        requested = requested.strip().lower()
        if requested not in ENV_MANAGERS:
            raise ProjectError(f"Unknown env manager {requested!r}; use one of {', '.join(ENV_MANAGERS)}.")
    if project.env_type == "docker":
        if requested not in (None, "docker"):
            raise ProjectError(
                f"This project declares docker_env; --env-manager {requested} cannot be used with it."
            )
        return "docker"
    if requested == "docker":
        raise ProjectError("--env-manager docker needs a docker_env section in the MLproject.")
    if requested:
        return requested
    if project.env_type == "python_env":
        return "uv"
    if project.env_type == "conda":
        return "conda"
    return "local"


def prepare_environment(project: Project, manager: str, build_image: bool = False) -> Environment:
    """Build or reuse the environment for ``project`` with ``manager``."""
    if manager == "local":
        return Environment(
            kind="local", bin_dir=os.path.dirname(sys.executable), python=sys.executable, reused=True
        )
    if manager == "docker":
        from labkeep.projects.env.docker import prepare_docker_env

        assert project.docker_env is not None
        return prepare_docker_env(project.docker_env, project.directory, project.name, build_image)
    if manager == "conda":
        from labkeep.projects.env.conda import build_conda_env, build_translated_env, find_conda

        if project.env_type != "conda" or project.env_file is None:
            raise ProjectError(
                "--env-manager conda needs a conda.yaml (conda_env in the MLproject or conda.yaml in the project)."
            )
        exe = find_conda()
        if exe is not None:
            return build_conda_env(project.env_file, exe, project_dir=project.directory)
        return build_translated_env(project.env_file, manager="uv", project_dir=project.directory)
    # uv / virtualenv: same machinery
    from labkeep.projects.env.python_env import PythonSpec, build_python_env, read_python_env

    if project.env_type == "python_env" and project.env_file:
        spec = read_python_env(project.env_file)
    elif project.env_type == "conda" and project.env_file:
        from labkeep.projects.env.conda import build_translated_env

        return build_translated_env(project.env_file, manager=manager, project_dir=project.directory)
    else:
        spec = PythonSpec(base_dir=project.directory)
        if os.path.isfile(os.path.join(project.directory, "requirements.txt")):
            spec.dependencies = ["-r requirements.txt"]
    return build_python_env(spec, manager=manager, project_dir=project.directory)


__all__ = ["ENV_MANAGERS", "Environment", "choose_manager", "prepare_environment"]
