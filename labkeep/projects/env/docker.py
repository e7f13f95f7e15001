"""docker_env projects: the command runs in the image with the project mounted (or copied in with
``--build-image``) and the tracking variables passed; a clear error when no engine answers."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

from labkeep import config
from labkeep.projects.env.base import Environment
from labkeep.projects.errors import ProjectError
from labkeep.projects.output import say

CONTAINER_PROJECT_DIR = "/mlflow/projects/code"
# Variables from the run's environment that the container receives.
_PASSED_PREFIXES = ("MLFLOW_", "LABKEEP_")


def docker_exe() -> str:
    return config.DOCKER_EXE.get() or shutil.which("docker") or "docker"


def engine_problem(exe: str | None = None) -> str | None:
    """None when a Docker engine answers, else why not."""
    exe = exe or docker_exe()
    try:
        proc = subprocess.run(
            [exe, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=20
        )
    except FileNotFoundError:
        return f"the docker client ({exe}) is not installed"
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer within 20 s"
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        return lines[-1] if lines else f"docker info exited {proc.returncode}"
    return None


def _is_loopback_url(value: str) -> bool:
    return value.startswith(
        ("http://127.", "http://localhost", "https://127.", "https://localhost", "http://[::1]")
    )


@dataclass
class DockerEnvironment(Environment):
    """Runs commands as ``docker run ... IMAGE sh -c COMMAND``."""

    image: str = ""
    volumes: list[str] = field(default_factory=list)
    environment: list[Any] = field(default_factory=list)
    project_dir: str = ""
    mount_project: bool = True
    extra_volumes: list[str] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)  # user-given ``docker run`` flags (-A)
    exe: str = field(default_factory=docker_exe)

    def process_env(self, base: dict[str, str]) -> dict[str, str]:
        return dict(base)

    def command_argv(self, command: str, env: dict[str, str], cwd: str) -> list[str]:
        argv = [self.exe, "run", "--rm", "-w", CONTAINER_PROJECT_DIR]
        if self.mount_project:
            argv += ["-v", f"{self.project_dir}:{CONTAINER_PROJECT_DIR}"]
        for volume in [*self.volumes, *self.extra_volumes]:
            argv += ["-v", volume]
        if any(_is_loopback_url(v) for k, v in env.items() if k.endswith("TRACKING_URI")):
            # The run's tracking server listens on the host's loopback interface.
            argv += ["--network", "host"]
        for key in sorted(env):
            if key.startswith(_PASSED_PREFIXES):
                argv += ["-e", f"{key}={env[key]}"]
        for item in self.environment:
            if isinstance(item, str):
                if item not in os.environ:
                    raise ProjectError(
                        f"docker_env.environment names {item!r}, which is not set on this machine."
                    )
                argv += ["-e", f"{item}={os.environ[item]}"]
            else:
                argv += ["-e", f"{item[0]}={item[1]}"]
        argv += [*self.extra_args, self.image, "sh", "-c", command]
        return argv


def prepare_docker_env(
    docker_env: dict[str, Any], project_dir: str, project_name: str | None, build_image: bool
) -> DockerEnvironment:
    """Check the engine (and build the project image when asked); the error says what is missing."""
    exe = docker_exe()
    problem = engine_problem(exe)
    if problem:
        raise ProjectError(
            f"This project runs in Docker image {docker_env['image']!r}, but no Docker engine is available: {problem}."
        )
    env = DockerEnvironment(
        kind="docker",
        image=docker_env["image"],
        volumes=list(docker_env.get("volumes") or []),
        environment=list(docker_env.get("environment") or []),
        project_dir=project_dir,
        exe=exe,
    )
    env.tags["mlflow.docker.image.uri"] = env.image
    if build_image:
        tag = f"labkeep-{(project_name or 'project').lower().replace(' ', '-')}:latest"
        dockerfile = f"FROM {env.image}\nCOPY . {CONTAINER_PROJECT_DIR}/\nWORKDIR {CONTAINER_PROJECT_DIR}\n"
        say(f"building image {tag} from {env.image} with the project copied in")
        proc = subprocess.run(
            [exe, "build", "-t", tag, "-f", "-", project_dir],
            input=dockerfile,
            text=True,
            capture_output=True,
        )
        if proc.returncode != 0:
            raise ProjectError(
                f"docker build failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}"
            )
        env.image, env.mount_project = tag, False
        env.tags["mlflow.docker.image.uri"] = tag
    return env
