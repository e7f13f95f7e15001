"""``--backend ray``: the entry point runs as a Ray job, submitted over the cluster's job API.

The project folder is the job's ``working_dir``, its pip requirements (python_env.yaml, conda.yaml's
pip-world translation, requirements.txt) its ``runtime_env.pip``, a docker_env image its
``image_uri``; the tracking variables are ``runtime_env.env_vars``, which Ray also gives every task
and actor the job starts, so workers log to the same run. The job's log is polled and streamed, its
end state mirrored (SUCCEEDED -> FINISHED, FAILED -> FAILED, STOPPED -> KILLED); a cancel or Ctrl-C
stops the job.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from labkeep.projects.backends import check_keys
from labkeep.projects.backends.common import (
    LogSink,
    RemoteSupervisor,
    RunContext,
    credentials_from_environment,
    remote_tracking_uri,
    tracking_env,
)
from labkeep.projects.backends.common import pip_requirements as _pip_requirements
from labkeep.projects.errors import ProjectError
from labkeep.projects.output import say

CONFIG_KEYS = (
    "address",
    "runtime_env",
    "entrypoint_num_cpus",
    "entrypoint_num_gpus",
    "entrypoint_memory",
    "entrypoint_resources",
    "metadata",
    "headers",
    "verify",
    "tracking_uri",
)
DEFAULT_ADDRESS = "http://127.0.0.1:8265"
_TERMINAL = {"SUCCEEDED": "FINISHED", "FAILED": "FAILED", "STOPPED": "KILLED"}
POLL_SECONDS = 0.5
# Consecutive failed status queries (about a minute) before the cluster is taken as gone.
_MAX_POLL_ERRORS = 120


def parse_config(config: dict[str, Any]) -> dict[str, Any]:
    """Check the ``--backend-config`` keys and types; ``address`` defaults to RAY_ADDRESS or the local head."""
    check_keys(config, CONFIG_KEYS, "ray")
    cfg = dict(config)
    cfg["address"] = str(
        cfg.get("address")
        or os.environ.get("RAY_API_SERVER_ADDRESS")
        or os.environ.get("RAY_ADDRESS")
        or DEFAULT_ADDRESS
    )
    for key in ("runtime_env", "entrypoint_resources", "metadata", "headers"):
        if cfg.get(key) is not None and not isinstance(cfg[key], dict):
            raise ProjectError(f"ray backend config {key!r} must be a JSON object.")
    for key in ("entrypoint_num_cpus", "entrypoint_num_gpus", "entrypoint_memory"):
        value = cfg.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0
        ):
            raise ProjectError(f"ray backend config {key!r} must be a non-negative number, not {value!r}.")
    return cfg


def _is_local(address: str) -> bool:
    """Whether the cluster's head is this machine (then it can reach a loopback tracking server)."""
    if address in ("auto", "local"):
        return True
    host = urlsplit(address if "://" in address else f"http://{address}").hostname or ""
    if host == "localhost":
        return True
    try:
        if ipaddress.ip_address(host).is_loopback:
            return True
    except ValueError:
        pass
    try:
        names = {socket.gethostname(), socket.getfqdn()}
        own = {socket.gethostbyname(n) for n in names}
    except OSError:
        return False
    return host in names or host in own


def build_submission(
    ctx: RunContext, cfg: dict[str, Any], tracking_uri: str, redact: bool = False
) -> dict[str, Any]:
    """The keyword arguments of ``JobSubmissionClient.submit_job`` for this run."""
    runtime_env = dict(cfg.get("runtime_env") or {})
    runtime_env.setdefault("working_dir", ctx.project.directory)
    if runtime_env["working_dir"] == ctx.project.directory:
        runtime_env.setdefault("excludes", [".git"])
    if not any(k in runtime_env for k in ("pip", "uv", "conda")):
        pip = _pip_requirements(ctx)
        if pip:
            runtime_env["pip"] = pip
    if ctx.project.env_type == "docker" and ctx.project.docker_env and "image_uri" not in runtime_env:
        runtime_env["image_uri"] = ctx.project.docker_env["image"]
    env_vars = dict(runtime_env.get("env_vars") or {})
    env_vars.update(tracking_env(ctx, tracking_uri))
    creds = credentials_from_environment()
    env_vars.update({k: ("<from this machine's environment>" if redact else v) for k, v in creds.items()})
    runtime_env["env_vars"] = env_vars
    metadata = {str(k): str(v) for k, v in (cfg.get("metadata") or {}).items()}
    metadata.update({"labkeep_run_id": str(ctx.run_id), "labkeep_experiment_id": str(ctx.experiment_id)})
    submission: dict[str, Any] = {
        "entrypoint": ctx.resolved.command,
        "submission_id": f"labkeep-{ctx.run_id}",
        "runtime_env": runtime_env,
        "metadata": metadata,
    }
    for key in ("entrypoint_num_cpus", "entrypoint_num_gpus", "entrypoint_memory", "entrypoint_resources"):
        if cfg.get(key) is not None:
            submission[key] = cfg[key]
    return submission


def render(ctx: RunContext, cfg: dict[str, Any]) -> str:
    """The job submission as JSON (credentials named, never shown)."""
    uri = remote_tracking_uri(ctx, cfg.get("tracking_uri"), "ray", _is_local(cfg["address"]))
    submission = build_submission(
        ctx, cfg, uri or "<temporary loopback server started at submission>", redact=True
    )
    return json.dumps({"address": cfg["address"], **submission}, indent=2, sort_keys=True)


def make_supervisor(ctx: RunContext, cfg: dict[str, Any], echo: bool = True) -> RaySupervisor:
    return RaySupervisor(ctx, cfg, echo)


def _job_client(cfg: dict[str, Any]) -> Any:
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError:
        raise ProjectError("The ray backend needs Ray's job client: pip install 'labkeep[ray]'.")
    kwargs: dict[str, Any] = {"address": cfg["address"]}
    if cfg.get("headers"):
        kwargs["headers"] = cfg["headers"]
    if cfg.get("verify") is not None:
        kwargs["verify"] = cfg["verify"]
    try:
        return JobSubmissionClient(**kwargs)
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError/RuntimeError/ValueError variously
        raise ProjectError(
            f"Could not reach the Ray cluster's job API at {cfg['address']}: {exc}. "
            "Give the dashboard address (http://HEAD:8265) or a ray:// client address as 'address'."
        )


def _submit(jobs: Any, submission: dict[str, Any], address: str, patience: float = 90.0) -> str:
    """Submit, retrying while a just-started head has no job agent yet ("try again later") or drops
    the connection; a retry that finds the job already there (same submission id) takes it."""
    deadline = time.monotonic() + patience
    retried = False
    while True:
        try:
            return jobs.submit_job(**submission)
        except Exception as exc:  # noqa: BLE001 - runtime_env upload/validation errors come as many types
            text = str(exc)
            if retried and "already exists" in text:
                return submission["submission_id"]
            transient = (
                "try again later" in text
                or "Connection aborted" in text
                or "ConnectionError" in type(exc).__name__
            )
            if transient and time.monotonic() < deadline:
                retried = True
                time.sleep(1.0)
                continue
            raise ProjectError(f"The Ray cluster at {address} refused the job: {exc}")


class RaySupervisor(RemoteSupervisor):
    """Submits the Ray job, follows its log and status, stops it on cancel."""

    def __init__(self, ctx: RunContext, cfg: dict[str, Any], echo: bool) -> None:
        super().__init__(ctx, cfg, echo)
        self.job_id: str | None = None
        self.jobs: Any = None

    @property
    def started(self) -> bool:
        return self.job_id is not None

    def launch(self) -> None:
        ctx, cfg = self.ctx, self.cfg
        uri = remote_tracking_uri(ctx, cfg.get("tracking_uri"), "ray", _is_local(cfg["address"]))
        self.jobs = _job_client(cfg)
        if not uri:
            from labkeep.projects.server import start_run_server

            assert ctx.store_uri is not None
            self.server = start_run_server(ctx.store_uri, True)
            uri = self.server.url
        submission = build_submission(ctx, cfg, uri)
        say(f"run {self.run_id}: submitting Ray job to {cfg['address']}: {ctx.resolved.command}")
        self.job_id = _submit(self.jobs, submission, cfg["address"])
        self.client.set_tag(self.run_id, "labkeep.ray.submissionId", self.job_id)
        self.client.set_tag(self.run_id, "labkeep.ray.address", cfg["address"])
        threading.Thread(target=self._monitor, name=f"labkeep-ray-{self.run_id}", daemon=True).start()

    def terminate(self, signum: int) -> None:
        """Ask the cluster to stop the job; the monitor closes the run KILLED when it has."""
        if self.job_id is None or self._done.is_set():
            return
        self._stop_in_background(
            signum, f"stopping Ray job {self.job_id}", lambda: self.jobs.stop_job(self.job_id)
        )

    def _monitor(self) -> None:
        sink = LogSink(self.log_path, self.echo)
        status, message, info = "FAILED", "", None
        try:
            status, info = self._follow(sink)
            message = getattr(info, "message", "") or ""
        except Exception as exc:  # noqa: BLE001 - the run must still be closed
            message = f"lost track of Ray job {self.job_id}: {exc}"
        finally:
            sink.close()
        code = getattr(info, "driver_exit_code", None)
        if status == "FINISHED":
            self.exit_code = 0
        elif status == "KILLED":
            self.exit_code = self.killed_exit_code()
        else:
            self.exit_code = code if isinstance(code, int) and code > 0 else 1
        if status != "FINISHED" and message:
            say(f"run {self.run_id}: Ray job {self.job_id} {status}: {message}")
        self.close(status, self.log_path)

    def _follow(self, sink: LogSink) -> tuple[str, Any]:
        """Stream new log text until the job is terminal; return (run status, job info)."""
        seen = 0
        errors = 0
        while True:
            try:
                info = self.jobs.get_job_info(self.job_id)
                logs = self.jobs.get_job_logs(self.job_id)
                errors = 0
            except Exception:  # noqa: BLE001 - a cluster hiccup; give up only after many in a row
                errors += 1
                if errors >= _MAX_POLL_ERRORS:
                    raise
                time.sleep(POLL_SECONDS)
                continue
            if len(logs) > seen:
                sink.write(logs[seen:])
                seen = len(logs)
            state = str(getattr(info.status, "value", info.status))
            if state in _TERMINAL:
                final = self.jobs.get_job_logs(self.job_id)
                if len(final) > seen:
                    sink.write(final[seen:])
                return _TERMINAL[state], info
            time.sleep(POLL_SECONDS)
