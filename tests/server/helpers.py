"""Start real ``labkeep server`` processes on free loopback ports for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx

SERVER_CMD = [sys.executable, "-c", "from labkeep.cli.server import server; server()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30.0, prefix: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise RuntimeError(f"server exited with {proc.returncode}: {out}")
        try:
            if httpx.get(url + prefix + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} not healthy after {timeout}s")


@contextmanager
def running_server(
    args: list[str], cwd: str, env: dict[str, str] | None = None, port: int | None = None, prefix: str = ""
):
    """Yield ``(url, proc)`` of a server started with ``args``; stop it with SIGTERM afterwards."""
    port = port or free_port()
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.Popen(
        [*SERVER_CMD, "--host", "127.0.0.1", "--port", str(port), *args],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, prefix=prefix)
        yield url, proc
    finally:
        stop_process_group(proc)
        if proc.stdout:
            proc.stdout.close()


def stop_process_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group of ``proc`` (a server and its workers); SIGKILL after 15 s."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
