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


@contextmanager
def ray_head(timeout: float = 240.0):
    """Yield the head's job API address (``http://127.0.0.1:PORT``)."""
    # Ray's socket paths must stay short: a private folder directly under /tmp.
    temp_dir = tempfile.mkdtemp(prefix="lkray", dir="/tmp")
    gcs, dash, client, agent_http, agent_grpc, metrics, node_mgr, obj_mgr, env_agent = _free_ports(9)
    argv = [
        ray_exe(),
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
        f"--temp-dir={temp_dir}",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    log = open(os.path.join(temp_dir, "head.log"), "w+b")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    address = f"http://127.0.0.1:{dash}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"ray start exited {proc.returncode}: {log.read().decode()[-3000:]}")
            try:
                if httpx.get(f"{address}/api/version", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"Ray head not up after {timeout}s: {log.read().decode()[-3000:]}")
            time.sleep(0.5)
        _wait_for_job_agent(address, deadline)
        yield address
    finally:
        _stop_group(proc)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _wait_for_job_agent(address: str, deadline: float) -> None:
    """The dashboard answers before the node's job agent registers; wait until a job can be taken."""
    from ray.job_submission import JobSubmissionClient

    jobs = JobSubmissionClient(address)
    while True:
        try:
            job_id = jobs.submit_job(entrypoint="true")
            break
        except Exception:  # noqa: BLE001 - "no available agent" or a dropped connection while it starts
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    while not jobs.get_job_status(job_id).is_terminal():
        if time.monotonic() > deadline:
            raise RuntimeError("the Ray head did not finish a trivial job in time")
        time.sleep(0.5)


def _stop_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        # the head process is gone; make sure none of its children outlive it
        time.sleep(1)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
