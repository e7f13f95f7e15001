"""What remote backends share: the run context, the tracking environment, pip requirements, log output."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labkeep.projects.errors import ProjectError
from labkeep.projects.output import say
from labkeep.projects.params import ResolvedCommand
from labkeep.projects.sources import ProjectSource
from labkeep.projects.spec import EntryPoint, Project
from labkeep.projects.supervisor import BaseSupervisor

# Credentials the code inside needs to talk to the tracking server (never written into a manifest).
CREDENTIAL_VARS = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "LABKEEP_TRACKING_USERNAME",
    "LABKEEP_TRACKING_PASSWORD",
    "LABKEEP_TRACKING_TOKEN",
)


@dataclass
class RunContext:
    """One project run as the backends see it; the ``run_id`` and below are set once it is recorded."""

    source: ProjectSource
    storage_dir: str
    project: Project
    entry_point: EntryPoint
    resolved: ResolvedCommand
    manager: str
    backend: str = "local"
    run_name: str | None = None
    client: Any = None
    store_uri: str | None = None
    experiment_id: str | None = None
    run_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def env_tag(self) -> str | None:
        """The ``mlflow.project.env`` tag: the environment kind the command runs in."""
        if self.backend == "kubernetes":
            return "docker"
        return None if self.manager == "local" else self.manager


def is_remote_uri(uri: str | None) -> bool:
    return bool(uri) and str(uri).startswith(("http://", "https://"))


def tracking_env(ctx: RunContext, tracking_uri: str) -> dict[str, str]:
    """The variables that make ``start_run()`` inside the command attach to this run."""
    assert ctx.run_id is not None and ctx.experiment_id is not None
    return {
        "MLFLOW_TRACKING_URI": tracking_uri,
        "LABKEEP_TRACKING_URI": tracking_uri,
        "MLFLOW_RUN_ID": ctx.run_id,
        "LABKEEP_RUN_ID": ctx.run_id,
        "MLFLOW_EXPERIMENT_ID": ctx.experiment_id,
        "LABKEEP_EXPERIMENT_ID": ctx.experiment_id,
        "PYTHONUNBUFFERED": "1",
    }


def credentials_from_environment() -> dict[str, str]:
    """Tracking credentials set on this machine, to be handed to the remote command."""
    return {k: os.environ[k] for k in CREDENTIAL_VARS if os.environ.get(k)}


def remote_tracking_uri(ctx: RunContext, configured: str | None, backend: str, local_cluster: bool) -> str:
    """The tracking URI the remote command uses.

    ``configured`` (the backend config's ``tracking_uri``) wins; a server URL is passed through. A
    database store can only be served to a cluster on this machine (a temporary loopback server,
    started by the caller when this returns ``""``); anything else needs a reachable server.
    """
    if configured:
        if not is_remote_uri(configured):
            raise ProjectError(f"The {backend} backend's tracking_uri must be an http(s):// server URL.")
        return configured
    if is_remote_uri(ctx.store_uri):
        return str(ctx.store_uri)
    if local_cluster:
        return ""
    raise ProjectError(
        f"The {backend} backend runs the command on other machines, which cannot open the tracking "
        f"store {ctx.store_uri!r}. Start a server they can reach (labkeep server --host 0.0.0.0 "
        "--backend-store-uri ...) and pass --tracking-uri http://HOST:PORT (or the backend config "
        "key tracking_uri)."
    )


def _expand_requirements(lines: list[str], base_dir: str) -> list[str]:
    out: list[str] = []
    for line in lines:
        text = line.strip()
        if text.startswith(("-r ", "--requirement ")):
            path = os.path.join(base_dir, text.split(None, 1)[1].strip())
            try:
                with open(path, encoding="utf-8") as fh:
                    nested = [
                        x for x in fh.read().splitlines() if x.strip() and not x.lstrip().startswith("#")
                    ]
            except OSError as exc:
                raise ProjectError(f"Cannot read requirements file {path}: {exc}")
            out += _expand_requirements(nested, os.path.dirname(path))
        elif text:
            out.append(text)
    return out


def pip_requirements(ctx: RunContext) -> list[str]:
    """The pip requirements of the project's environment (python_env.yaml, conda.yaml or requirements.txt)."""
    project = ctx.project
    if ctx.manager == "local" or project.env_type == "docker":
        return []
    if project.env_type == "python_env" and project.env_file:
        from labkeep.projects.env.python_env import read_python_env

        spec = read_python_env(project.env_file)
        return _expand_requirements(spec.build_dependencies + spec.dependencies, spec.base_dir)
    if project.env_type == "conda" and project.env_file:
        from labkeep.projects.env.conda import translate_conda_yaml

        spec, dropped = translate_conda_yaml(project.env_file)
        if dropped:
            say(f"warning: conda-only packages left out of the pip requirements: {', '.join(dropped)}")
        return _expand_requirements(spec.dependencies, spec.base_dir)
    req = os.path.join(project.directory, "requirements.txt")
    if os.path.isfile(req):
        return _expand_requirements(["-r requirements.txt"], project.directory)
    return []


class LogSink:
    """The remote command's output: appended to the run's log file and (when ``echo``) to our stdout."""

    def __init__(self, path: str, echo: bool) -> None:
        self.path = path
        self.echo = echo
        self._lock = threading.Lock()
        self._fh = open(path, "ab")  # noqa: SIM115 - closed by close()

    def write(self, data: bytes | str) -> None:
        chunk = data.encode("utf-8", "replace") if isinstance(data, str) else data
        if not chunk:
            return
        with self._lock:
            self._fh.write(chunk)
            self._fh.flush()
            if self.echo:
                try:
                    sys.stdout.buffer.write(chunk)
                    sys.stdout.flush()
                except (AttributeError, OSError, ValueError):
                    try:
                        sys.stdout.write(chunk.decode("utf-8", "replace"))
                    except (OSError, ValueError):
                        self.echo = False

    def close(self) -> None:
        with self._lock:
            self._fh.close()


class RemoteSupervisor(BaseSupervisor):
    """A run whose command runs on a cluster: the backend submits it, follows it and stops it."""

    def __init__(self, ctx: RunContext, cfg: dict[str, Any], echo: bool) -> None:
        assert ctx.run_id is not None
        super().__init__(ctx.client, ctx.run_id, ctx.source, ctx.storage_dir)
        self.ctx, self.cfg, self.echo = ctx, cfg, echo
        self._stop_signal: int | None = None

    def _stop_in_background(self, signum: int, what: str, action: Callable[[], None]) -> None:
        """Mark the run as being killed and run ``action`` (an API call) off the signal handler."""
        self._killed = True
        self._stop_signal = signum
        say(f"run {self.run_id}: {what}")

        def stop() -> None:
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - reported; the monitor keeps following the command
                say(f"warning: {what} failed: {exc}")

        threading.Thread(target=stop, daemon=True).start()

    def killed_exit_code(self) -> int:
        """``128 + N`` for the signal that stopped the run (SIGTERM when it was stopped elsewhere)."""
        return 128 + (self._stop_signal or 15)
