"""Run a project: validate, record the run, prepare the environment, run the command, end the run.

Order matters: everything checkable from the files is checked before a run is recorded; the run
is recorded before the environment is built (a failed build shows up as a FAILED run); the
command's output is streamed live and saved as the run artifact ``OUTPUT_ARTIFACT``.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any

from labkeep import config
from labkeep.projects.backends import get_backend, load_backend_config
from labkeep.projects.backends.common import RunContext
from labkeep.projects.env import Environment, choose_manager, prepare_environment
from labkeep.projects.errors import ProjectError
from labkeep.projects.output import say
from labkeep.projects.params import resolve_command
from labkeep.projects.sources import ProjectSource, fetch_project
from labkeep.projects.spec import load_project
from labkeep.projects.supervisor import EXIT_CODE_TAG, OUTPUT_ARTIFACT, BaseSupervisor

__all__ = ["EXIT_CODE_TAG", "OUTPUT_ARTIFACT", "RunRequest", "SubmittedRun", "render_project", "run_project"]
# Variables a parent run's environment might carry that would confuse the child's client.
_STRIPPED_VARS = (
    "MLFLOW_RUN_ID",
    "LABKEEP_RUN_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "LABKEEP_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_ID",
    "LABKEEP_EXPERIMENT_ID",
)


class SubmittedRun:
    """A project run in progress (or finished): ``run_id``, ``wait()``, ``get_status()``, ``cancel()``."""

    def __init__(self, run_id: str, finisher: BaseSupervisor) -> None:
        self.run_id = run_id
        self._supervisor = finisher

    def wait(self) -> bool:
        """Block until the command ends and the run is closed; True when it FINISHED."""
        self._supervisor.join()
        return self._supervisor.status == "FINISHED"

    def get_status(self) -> str:
        """RUNNING, FINISHED, FAILED or KILLED."""
        return self._supervisor.status

    def cancel(self) -> None:
        """Stop the command and mark the run KILLED.

        Locally: SIGTERM, then SIGKILL after 10 s. Ray: the job is stopped. Kubernetes: the Job is deleted.
        """
        self._supervisor.terminate(signal.SIGTERM)
        self._supervisor.join()

    @property
    def exit_code(self) -> int | None:
        """The command's exit status (``128 + N`` when killed by signal N)."""
        return self._supervisor.exit_code

    def __repr__(self) -> str:
        return f"SubmittedRun(run_id={self.run_id!r}, status={self.get_status()!r})"


def _env_has_mlflow(env: Environment) -> bool:
    """Whether the child can ``import mlflow`` (the real package)."""
    if env.kind == "docker":
        return True
    if env.kind == "local":
        import importlib.util

        return importlib.util.find_spec("mlflow") is not None
    if not env.prefix:
        return False
    patterns = (
        "lib/python*/site-packages/mlflow",
        "lib/python*/site-packages/mlflow_skinny-*",
        "Lib/site-packages/mlflow",
    )
    return any(glob.glob(os.path.join(env.prefix, p)) for p in patterns)


def _needs_server(store_uri: str, env: Environment) -> bool:
    if store_uri.startswith(("http://", "https://")):
        return False
    mode = (config.PROJECT_SERVER.get() or "auto").strip().lower()
    if mode in ("always", "1", "true", "yes"):
        return True
    if mode in ("never", "0", "false", "no"):
        return False
    return _env_has_mlflow(env)


class _Supervisor(BaseSupervisor):
    """Owns the local child process: streams its output, forwards signals, closes the run."""

    def __init__(self, client: Any, run_id: str, source: ProjectSource, storage_dir: str) -> None:
        super().__init__(client, run_id, source, storage_dir)
        self.proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self.proc is not None

    def launch(self, argv: list[str], env: dict[str, str], cwd: str, echo: bool) -> None:
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._thread = threading.Thread(
            target=self._monitor, args=(echo,), name=f"labkeep-run-{self.run_id}", daemon=True
        )
        self._thread.start()

    def terminate(self, signum: int) -> None:
        """Forward ``signum`` to the command's whole process group."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        self._killed = True
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            return
        if signum == signal.SIGTERM:
            threading.Thread(target=self._kill_later, args=(proc,), daemon=True).start()

    @staticmethod
    def _kill_later(proc: subprocess.Popen, grace: float = 10.0) -> None:
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _monitor(self, echo: bool) -> None:
        """Copy the command's stdout/stderr to ours (live) and into one log; then close the run."""
        assert self.proc is not None and self.proc.stdout is not None and self.proc.stderr is not None
        log_path = os.path.join(self.storage_dir, OUTPUT_ARTIFACT)
        try:
            with open(log_path, "wb") as log:
                lock = threading.Lock()
                err_pump = threading.Thread(
                    target=_pump, args=(self.proc.stderr.fileno(), sys.stderr, log, lock, echo), daemon=True
                )
                err_pump.start()
                _pump(self.proc.stdout.fileno(), sys.stdout, log, lock, echo)
                err_pump.join()
            code = self.proc.wait()
            self.exit_code = 128 - code if code < 0 else code
            self.finish(code, log_path)
        finally:
            self._done.set()

    def finish(self, code: int | None, log_path: str | None) -> None:
        if code is None:
            status = "KILLED" if self._killed else "FAILED"
        elif self._killed or code in (-signal.SIGTERM, -signal.SIGINT, -signal.SIGKILL):
            status = "KILLED"
        else:
            status = "FINISHED" if code == 0 else "FAILED"
        self.close(status, log_path)


def _pump(fd: int, stream: Any, log: Any, lock: threading.Lock, echo: bool) -> None:
    """Read ``fd`` until EOF, appending each chunk to ``log`` and (if ``echo``) to ``stream``."""
    out = getattr(stream, "buffer", None)
    pending = b""  # the log gets whole lines, so stdout and stderr never merge mid-line
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            if pending:
                with lock:
                    log.write(pending)
            return
        pending += chunk
        cut = pending.rfind(b"\n") + 1
        if cut:
            with lock:
                log.write(pending[:cut])
            pending = pending[cut:]
        if echo:
            try:
                if out is not None:
                    out.write(chunk)
                    out.flush()
                else:
                    stream.write(chunk.decode("utf-8", "replace"))
                    stream.flush()
            except (OSError, ValueError):
                echo = False  # our stream went away; keep recording


def _resolve_experiment(client: Any, experiment_name: str | None, experiment_id: str | None) -> str:
    if experiment_name and experiment_id:
        raise ProjectError("Give either an experiment name or an experiment id, not both.")
    if experiment_id is None and experiment_name is None:
        experiment_id = config.EXPERIMENT_ID.get()
        experiment_name = config.EXPERIMENT_NAME.get()
    if experiment_id is not None:
        exp = client.get_experiment(str(experiment_id))
        if getattr(exp, "lifecycle_stage", "active") != "active":
            raise ProjectError(f"Experiment {experiment_id} is deleted; restore it or choose another.")
        return str(exp.experiment_id)
    if experiment_name:
        exp = client.get_experiment_by_name(experiment_name)
        if exp is None:
            say(f"creating experiment {experiment_name!r}")
            return str(client.create_experiment(experiment_name))
        if getattr(exp, "lifecycle_stage", "active") != "active":
            raise ProjectError(
                f"Experiment {experiment_name!r} is deleted; restore it or choose another name."
            )
        return str(exp.experiment_id)
    return "0"


def _parent_run_id() -> str | None:
    fluent = sys.modules.get("labkeep.fluent")
    if fluent is None:
        return None
    try:
        active = fluent.active_run()
    except Exception:  # noqa: BLE001 - no usable active run
        return None
    return active.info.run_id if active is not None else None


def run_project(
    uri: str,
    entry_point: str = "main",
    parameters: dict[str, Any] | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    env_manager: str | None = None,
    synchronous: bool = True,
    version: str | None = None,
    run_name: str | None = None,
    tracking_uri: str | None = None,
    build_image: bool = False,
    backend: str = "local",
    echo: bool = True,
    handle_signals: bool | None = None,
    docker_args: dict[str, Any] | None = None,
    storage_dir: str | None = None,
    backend_config: dict[str, Any] | str | None = None,
) -> SubmittedRun:
    """Run the project at ``uri`` (see :func:`labkeep.projects.run`).

    A synchronous run in the main thread handles SIGINT/SIGTERM itself: while the environment is
    being prepared they stop the preparation (the run ends KILLED); once the command runs they
    are forwarded to it.
    """
    if handle_signals is None:
        handle_signals = synchronous and threading.current_thread() is threading.main_thread()
    holder: list[BaseSupervisor] = []

    def on_signal(signum: int, _frame: Any) -> None:
        if holder and holder[0].started:
            holder[0].terminate(signum)
        else:
            raise KeyboardInterrupt(f"stopped by signal {signum}")

    previous: dict[signal.Signals, Any] = {}
    if handle_signals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        request = RunRequest(
            uri=uri,
            entry_point=entry_point,
            parameters=parameters,
            experiment_name=experiment_name,
            experiment_id=experiment_id,
            env_manager=env_manager,
            version=version,
            run_name=run_name,
            tracking_uri=tracking_uri,
            build_image=build_image,
            backend=(backend or "local").strip().lower(),
            echo=echo,
            docker_args=docker_args or {},
            storage_dir=storage_dir,
            backend_config=load_backend_config(backend_config),
        )
        submitted = _start(request, holder)
        if synchronous:
            submitted.wait()
        return submitted
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@dataclass
class RunRequest:
    """Everything a project run was asked for."""

    uri: str
    entry_point: str = "main"
    parameters: dict[str, Any] | None = None
    experiment_name: str | None = None
    experiment_id: str | None = None
    env_manager: str | None = None
    version: str | None = None
    run_name: str | None = None
    tracking_uri: str | None = None
    build_image: bool = False
    backend: str = "local"
    echo: bool = True
    docker_args: dict[str, Any] = field(default_factory=dict)
    storage_dir: str | None = None
    backend_config: dict[str, Any] = field(default_factory=dict)


def _plan(req: RunRequest) -> RunContext:
    """Fetch and check the project and its parameters; nothing is recorded yet."""
    source = fetch_project(req.uri, req.version)
    storage_dir = tempfile.mkdtemp(prefix="labkeep-run-")
    params_dir = os.path.abspath(req.storage_dir) if req.storage_dir else os.path.join(storage_dir, "params")
    try:
        project = load_project(source.directory)
        ep = project.get_entry_point(req.entry_point)
        resolved = resolve_command(ep, req.parameters, project.directory, params_dir)
        manager = choose_manager(project, req.env_manager)
    except BaseException:
        source.cleanup()
        shutil.rmtree(storage_dir, ignore_errors=True)
        raise
    return RunContext(
        source=source,
        storage_dir=storage_dir,
        project=project,
        entry_point=ep,
        resolved=resolved,
        manager=manager,
        backend=req.backend,
        run_name=req.run_name,
    )


def _record(ctx: RunContext, req: RunRequest) -> None:
    """Create the run (tags, experiment) and fill ``ctx.client``, ``store_uri``, ``experiment_id``, ``run_id``."""
    from labkeep.client import Client
    from labkeep.context import default_user

    client = Client(req.tracking_uri)
    exp_id = _resolve_experiment(client, req.experiment_name, req.experiment_id)
    source = ctx.source
    tags = {
        "mlflow.user": default_user(),
        "mlflow.source.name": source.source_name,
        "mlflow.source.type": "PROJECT",
        "mlflow.project.entryPoint": ctx.entry_point.name,
        "mlflow.project.backend": req.backend,
    }
    env_tag = ctx.env_tag()
    if env_tag:
        tags["mlflow.project.env"] = env_tag
    for key, value in (
        ("mlflow.source.git.commit", source.git_commit),
        ("mlflow.source.git.branch", source.git_branch),
        ("mlflow.source.git.repoURL", source.git_repo_url),
        ("mlflow.parentRunId", _parent_run_id()),
    ):
        if value:
            tags[key] = value
    run = client.create_run(exp_id, tags=tags, run_name=req.run_name)
    ctx.client, ctx.store_uri, ctx.experiment_id = client, client.tracking_uri, exp_id
    ctx.run_id = run.info.run_id


def render_project(
    uri: str, backend: str, backend_config: dict[str, Any] | str | None = None, **kwargs: Any
) -> str:
    """What ``--dry-run`` prints: the submission ``backend`` would make, with nothing recorded or sent."""
    backend = (backend or "local").strip().lower()
    req = RunRequest(uri=uri, backend=backend, backend_config=load_backend_config(backend_config), **kwargs)
    impl = get_backend(req.backend)
    config = impl.parse_config(req.backend_config) if impl is not None else None
    ctx = _plan(req)
    try:
        if impl is None:
            return f"backend: local\nenv manager: {ctx.manager}\ncommand: {ctx.resolved.command}"
        from labkeep.client import Client

        ctx.store_uri = Client(req.tracking_uri).tracking_uri
        ctx.experiment_id = "<experiment-id>"
        ctx.run_id = "<run-id>"
        return impl.render(ctx, config)
    finally:
        ctx.source.cleanup()
        shutil.rmtree(ctx.storage_dir, ignore_errors=True)


def _start(req: RunRequest, holder: list[BaseSupervisor]) -> SubmittedRun:
    impl = get_backend(req.backend)
    config = impl.parse_config(req.backend_config) if impl is not None else None
    ctx = _plan(req)
    try:
        _record(ctx, req)
    except BaseException:
        ctx.source.cleanup()
        shutil.rmtree(ctx.storage_dir, ignore_errors=True)
        raise
    assert ctx.run_id is not None
    from labkeep.entities import Param

    supervisor: BaseSupervisor
    if impl is None:
        supervisor = _Supervisor(ctx.client, ctx.run_id, ctx.source, ctx.storage_dir)
    else:
        supervisor = impl.make_supervisor(ctx, config, echo=req.echo)
    holder.append(supervisor)
    try:
        if ctx.resolved.params_to_log:
            ctx.client.log_batch(
                ctx.run_id, params=[Param(k, v) for k, v in ctx.resolved.params_to_log.items()]
            )
        if impl is None:
            assert isinstance(supervisor, _Supervisor)
            _launch_local(ctx, req, supervisor)
        else:
            supervisor.launch()  # type: ignore[attr-defined]
    except BaseException as exc:
        supervisor.exit_code = None
        supervisor._killed = isinstance(exc, KeyboardInterrupt)
        if not isinstance(exc, (ProjectError, KeyboardInterrupt)):
            say(f"error: {exc}")
        supervisor.close("KILLED" if supervisor._killed else "FAILED", None)
        raise
    return SubmittedRun(ctx.run_id, supervisor)


def _launch_local(ctx: RunContext, req: RunRequest, supervisor: _Supervisor) -> None:
    """Build or reuse the environment and start the command on this machine."""
    client, run_id, project, manager = ctx.client, ctx.run_id, ctx.project, ctx.manager
    assert run_id is not None and ctx.store_uri is not None and ctx.experiment_id is not None
    store_uri = ctx.store_uri
    env = prepare_environment(project, manager, build_image=req.build_image)
    if manager == "conda" and env.kind != "conda":
        tags_after = {"mlflow.project.env": env.kind}
    else:
        tags_after = {}
    tags_after.update(env.tags)
    for key, value in tags_after.items():
        client.set_tag(run_id, key, value)
    child_env = _child_env(env, run_id, ctx.experiment_id, store_uri)
    if env.kind == "docker":
        _mount_local_artifacts(env, store_uri)
        env.extra_args = _docker_flags(req.docker_args)  # type: ignore[attr-defined]
    if _needs_server(store_uri, env):
        from labkeep.projects.server import start_run_server

        supervisor.server = start_run_server(store_uri, req.tracking_uri is None)
        url = supervisor.server.url
        child_env["MLFLOW_TRACKING_URI"] = url
        if env.kind == "docker":
            child_env["LABKEEP_TRACKING_URI"] = url
    argv = env.command_argv(ctx.resolved.command, child_env, project.directory)
    say(f"run {run_id}: {ctx.resolved.command}")
    supervisor.launch(argv, child_env, project.directory, req.echo)


def _docker_flags(docker_args: dict[str, Any]) -> list[str]:
    """``{"gpus": "all", "privileged": True}`` -> ``["--gpus", "all", "--privileged"]`` (mlflow's ``-A``)."""
    flags: list[str] = []
    for key, value in docker_args.items():
        flag = ("-" if len(key) == 1 else "--") + key
        flags += [flag] if value in (True, None, "") else [flag, str(value)]
    return flags


def _mount_local_artifacts(env: Environment, store_uri: str) -> None:
    """Let a container write the run's artifacts when they live on this machine's disk."""
    if store_uri.startswith(("http://", "https://")):
        return
    from labkeep import config

    root = config.default_artifact_root(store_uri)
    if "://" not in root:
        os.makedirs(root, exist_ok=True)
        env.extra_volumes.append(f"{root}:{root}")  # type: ignore[attr-defined]


def _child_env(env: Environment, run_id: str, experiment_id: str, store_uri: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in _STRIPPED_VARS}
    child = env.process_env(base)
    if not store_uri.startswith(("http://", "https://")):
        # Only labkeep may open the database; the real mlflow gets the temporary server's URL (or nothing).
        for var in ("MLFLOW_REGISTRY_URI",):
            if not child.get(var, "http").startswith(("http://", "https://")):
                child.pop(var, None)
        child.pop("MLFLOW_TRACKING_URI", None)
    else:
        child["MLFLOW_TRACKING_URI"] = store_uri
    child.update(
        {
            "MLFLOW_RUN_ID": run_id,
            "LABKEEP_RUN_ID": run_id,
            "MLFLOW_EXPERIMENT_ID": experiment_id,
            "LABKEEP_EXPERIMENT_ID": experiment_id,
            "LABKEEP_TRACKING_URI": store_uri,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return child


def run_detached(**kwargs: Any) -> str:
    """Start a project run in a detached background process and return its run id at once.

    The background process (a fork, made before any thread exists) records, runs and closes the
    run exactly as a synchronous run does; its output goes only to the run's output artifact.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: become a session leader, report the run id (or the error), run to the end
        os.close(read_fd)
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        code = 1
        try:
            submitted = run_project(**kwargs, synchronous=False, echo=False)
            os.write(write_fd, f"ok {submitted.run_id}".encode())
            os.close(write_fd)
            submitted.wait()
            code = submitted.exit_code or 0
        except BaseException as exc:  # noqa: BLE001 - reported to the parent through the pipe
            try:
                os.write(write_fd, f"error {exc}".encode())
                os.close(write_fd)
            except OSError:
                pass
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks = []
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    message = b"".join(chunks).decode("utf-8", "replace")
    if message.startswith("ok "):
        return message[3:]
    raise ProjectError(
        message[len("error ") :] if message.startswith("error ") else "the background run did not start"
    )
