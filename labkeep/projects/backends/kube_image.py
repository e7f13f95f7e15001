"""The container image a Kubernetes run uses: given in the config, or built from the project's
docker_env (base image + the project copied in) and pushed to ``repository-uri``."""

from __future__ import annotations

import hashlib
import os
import subprocess
from typing import Any

from labkeep.projects.backends.common import RunContext
from labkeep.projects.env.docker import CONTAINER_PROJECT_DIR, docker_exe, engine_problem
from labkeep.projects.errors import ProjectError
from labkeep.projects.output import say


def image_tag(ctx: RunContext) -> str:
    """The tag for a built image: the git commit when there is one, else a hash of the project's files."""
    if ctx.source.git_commit:
        return ctx.source.git_commit[:12]
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(ctx.project.directory):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, ctx.project.directory).encode())
            try:
                with open(path, "rb") as fh:
                    digest.update(hashlib.sha256(fh.read()).digest())
            except OSError:
                continue
    return digest.hexdigest()[:12]


def planned_image(ctx: RunContext, cfg: dict[str, Any]) -> str:
    """The image reference the Job will name (before any build)."""
    if cfg.get("image"):
        return str(cfg["image"])
    return f"{cfg['repository-uri']}:{image_tag(ctx)}"


def _registry_named(repository: str) -> bool:
    """Whether ``repository`` starts with a registry host (``host.domain/...``, ``host:port/...``, ``localhost/...``)."""
    first, sep, _ = repository.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def _docker(args: list[str], what: str, **kwargs: Any) -> str:
    proc = subprocess.run([docker_exe(), *args], capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ProjectError(f"{what} failed (exit {proc.returncode}): {' / '.join(tail)}")
    return proc.stdout.strip()


def build_and_push(ctx: RunContext, cfg: dict[str, Any]) -> tuple[str, str | None]:
    """Return ``(image reference for the Job, digest)``; builds and pushes unless ``image`` is given."""
    if cfg.get("image"):
        return str(cfg["image"]), None
    project = ctx.project
    if project.env_type != "docker" or not project.docker_env:
        raise ProjectError(
            "The kubernetes backend runs the project in a container: add a docker_env section to the "
            "MLproject, or name a ready image with the backend config key 'image'."
        )
    problem = engine_problem()
    if problem:
        raise ProjectError(
            f"Building the project image needs a Docker engine, and none is available: {problem}. "
            "Build and push an image yourself and give it as the backend config key 'image'."
        )
    ref = planned_image(ctx, cfg)
    base = project.docker_env["image"]
    dockerfile = f"FROM {base}\nCOPY . {CONTAINER_PROJECT_DIR}/\nWORKDIR {CONTAINER_PROJECT_DIR}\n"
    say(f"building image {ref} from {base} with the project copied in")
    _docker(["build", "-t", ref, "-f", "-", project.directory], "docker build", input=dockerfile)
    if not _registry_named(str(cfg["repository-uri"])):
        say(f"repository-uri {cfg['repository-uri']!r} names no registry: the image stays local (not pushed)")
        return ref, None
    say(f"pushing {ref}")
    _docker(["push", ref], "docker push")
    digests = _docker(["inspect", "--format", '{{join .RepoDigests "\\n"}}', ref], "docker inspect")
    repo = ref.rsplit(":", 1)[0]
    for line in digests.splitlines():
        if line.startswith(repo + "@"):
            return line, line.split("@", 1)[1]
    return ref, None
