"""A real local Ray head for the ray backend tests: ``ray start --head --block`` on loopback.

``--block`` keeps the head's processes under one process that this helper owns; stopping means
signalling that process group (never ``ray stop``, which would stop any Ray on the machine).
Every port is a free one, resources are one CPU and no GPU, and the session folder is private.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import httpx


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def ray_exe() -> str:
    return os.path.join(os.path.dirname(sys.executable), "ray")


# `ray start` with more patience: Ray waits a fixed 30 s for its raylet to register with the GCS
# and gives up; on a machine shared by many test runs that is not always enough. This wrapper
# makes each of Ray's "is the node registered yet?" queries retry for up to 4 minutes instead;
# nothing else about the head changes.
_PATIENT_RAY_START = """
import sys, time
import ray._private.services as services
_get_node = services.get_node
def _patient_get_node(gcs_address, node_id):
    deadline = time.monotonic() + 240
    while True:
        try:
            return _get_node(gcs_address, node_id)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
services.get_node = _patient_get_node
from ray.scripts.scripts import main
sys.argv = ["ray", *sys.argv[1:]]
sys.exit(main())
"""


@contextmanager
def ray_head(timeout: float = 900.0, attempts: int = 5):
    """Yield the head's job API address (``http://127.0.0.1:PORT``).

    Ray gives its raylet a fixed 30 s to register; on a loaded machine that can pass, and the head
    exits. Such a start is cleaned up and tried again (``attempts`` times, within ``timeout``).
    """
    deadline = time.monotonic() + timeout
    problems: list[str] = []
    for _ in range(attempts):
        head = _Head()
        try:
            address = head.start(deadline)
        except RuntimeError as exc:
            problems.append(str(exc))
            head.stop()
            if time.monotonic() > deadline:
                break
            continue
        try:
            yield address
        finally:
            head.stop()
        return
    raise RuntimeError(f"no Ray head came up in {len(problems)} tries: " + "\n---\n".join(problems))


class _Head:
    """One ``ray start --head --block`` process and its private folder."""

    def __init__(self) -> None:
        # Ray's socket paths must stay short: a private folder directly under /tmp.
        self.temp_dir = tempfile.mkdtemp(prefix="lkray", dir="/tmp")
        self.log = open(os.path.join(self.temp_dir, "head.log"), "w+b")  # noqa: SIM115 - closed by stop()
        self.proc: subprocess.Popen | None = None
        self.stage = "starting"

    def start(self, deadline: float) -> str:
        gcs, dash, client, agent_http, agent_grpc, metrics, node_mgr, obj_mgr, env_agent = _free_ports(9)
        argv = [
            sys.executable,
            "-c",
            _PATIENT_RAY_START,
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={gcs}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dash}",
            f"--ray-client-server-port={client}",
            f"--dashboard-agent-listen-port={agent_http}",
            f"--dashboard-agent-grpc-port={agent_grpc}",
            f"--metrics-export-port={metrics}",
            f"--node-manager-port={node_mgr}",
            f"--object-manager-port={obj_mgr}",
            f"--runtime-env-agent-port={env_agent}",
            "--num-cpus=1",
            "--num-gpus=0",
            "--object-store-memory=100000000",
            "--include-dashboard=true",
            "--disable-usage-stats",
            f"--temp-dir={self.temp_dir}",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        # Ray's many Python processes (dashboard, its modules, agents, workers) must not recompile
        # Ray from source at every start: this machine sets PYTHONDONTWRITEBYTECODE.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        env["PYTHONPYCACHEPREFIX"] = os.path.join(cache, "labkeep", "test-pycache")
        # The cluster's `python` (what a job's entry point runs) is this interpreter, which has Ray.
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        # More patience for the agents' registration on a loaded machine. (The raylet also aborts
        # when the dashboard agent has not reported its ports within about 15 s - seen under a load
        # average of 20 - which no setting changes; ray_head() then starts a new head.)
        env["RAY_raylet_start_wait_time_s"] = "600"
        env["RAY_agent_register_timeout_ms"] = "600000"
        self.proc = subprocess.Popen(
            argv, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        address = f"http://127.0.0.1:{dash}"
        self.stage = "waiting for the dashboard"
        while True:
            self._check_alive(deadline)
            try:
                if httpx.get(f"{address}/api/version", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self._wait_for_job_agent(address, deadline)
        return address

    def _raylet_aborted(self) -> bool:
        try:
            with open(os.path.join(self.temp_dir, "session_latest", "logs", "raylet.out"), "rb") as fh:
                return b"Check failed" in fh.read()
        except OSError:
            return False

    def _check_alive(self, deadline: float) -> None:
        assert self.proc is not None
        if self._raylet_aborted():
            raise RuntimeError(f"the raylet aborted ({self.stage}); see raylet.out")
        if self.proc.poll() is not None or time.monotonic() > deadline:
            self.log.seek(0)
            what = f"exited {self.proc.returncode}" if self.proc.poll() is not None else "timed out"
            what += f" ({self.stage})"
            raise RuntimeError(f"ray start {what}: {self.log.read().decode(errors='replace')[-2000:]}")

    def _wait_for_job_agent(self, address: str, deadline: float) -> None:
        """The dashboard answers before the node's job agent registers; wait until a job runs."""
        from ray.job_submission import JobSubmissionClient

        self.stage = "waiting for the job agent"
        jobs = JobSubmissionClient(address)
        while True:
            self._check_alive(deadline)
            try:
                job_id = jobs.submit_job(entrypoint="true")
                break
            except Exception:  # noqa: BLE001 - "no available agent" or a dropped connection while it starts
                time.sleep(1)
        while not jobs.get_job_status(job_id).is_terminal():
            self._check_alive(deadline)
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is not None:
            _stop_group(self.proc)
        self.log.close()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the head's process group (it stops what it started), then SIGKILL what is left."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        pass
    time.sleep(2)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(10)
