"""A real multi-node deployment on loopback: N ``labkeep server`` processes (M workers each) on one
PostgreSQL database with artifacts in SeaweedFS S3, behind HAProxy (Debian's ``haproxy`` package)
with a generated config and HTTP health checks on ``/health``."""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field

import httpx

from ..server.helpers import SERVER_CMD, free_port, stop_process_group, wait_healthy

HAPROXY_CFG = """\
global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # A busy server answers /health late rather than never: only a dead one goes DOWN.
    timeout check 5s
    # A refused connection (a dead server) is tried again on another server, never a reply
    # already half-sent: a POST is only resent when it never reached a server.
    retries 3
    option redispatch
    retry-on conn-failure

frontend labkeep
    bind 127.0.0.1:{port}
    default_backend servers

backend servers
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter 300ms fall 2 rise 2
{servers}

listen stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
"""


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None
    )


def haproxy_config(port: int, stats_port: int, server_ports: list[int]) -> str:
    servers = "\n".join(f"    server s{i} 127.0.0.1:{p} check" for i, p in enumerate(server_ports))
    return HAPROXY_CFG.format(port=port, stats_port=stats_port, servers=servers)


@dataclass
class Cluster:
    """Servers behind a balancer; ``url`` is the balancer, ``servers[i]`` a server's own URL."""

    workdir: str
    backend_uri: str
    artifacts: str
    env: dict[str, str]
    workers: int = 2
    ports: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen | None] = field(default_factory=list)
    logs: list = field(default_factory=list)
    url: str = ""
    stats_url: str = ""
    balancer: subprocess.Popen | None = None

    @property
    def servers(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    def start_servers(self, n: int) -> None:
        """Start ``n`` servers at the same moment (they race for an empty database's schema)."""
        self.ports = [free_port() for _ in range(n)]
        self.procs = [self._spawn(i) for i in range(n)]
        for i in range(n):
            wait_healthy(self.servers[i], self.procs[i], timeout=120)

    def _spawn(self, i: int) -> subprocess.Popen:
        args = [
            *SERVER_CMD, "--host", "127.0.0.1", "--port", str(self.ports[i]), "--workers", str(self.workers),
            "--backend-store-uri", self.backend_uri, "--artifacts-destination", self.artifacts,
        ]  # fmt: skip
        log = open(os.path.join(self.workdir, f"server{i}.log"), "ab")
        self.logs.append(log)
        return subprocess.Popen(
            args,
            cwd=self.workdir,
            env=dict(os.environ, **self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: the uvicorn master and its workers
        )

    def server_log(self, i: int) -> str:
        with open(os.path.join(self.workdir, f"server{i}.log"), errors="replace") as fh:
            return fh.read()

    def kill(self, i: int) -> None:
        """SIGKILL server ``i`` and all its worker processes: no graceful shutdown at all."""
        proc = self.procs[i]
        assert proc is not None
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        self.procs[i] = None

    def restart(self, i: int) -> None:
        """Start server ``i`` again on its port."""
        self.procs[i] = self._spawn(i)
        wait_healthy(self.servers[i], self.procs[i], timeout=120)

    def start_balancer(self) -> None:
        port, stats_port = free_port(), free_port()
        cfg = os.path.join(self.workdir, "haproxy.cfg")
        with open(cfg, "w") as fh:
            fh.write(haproxy_config(port, stats_port, self.ports))
        check = subprocess.run([haproxy_binary(), "-c", "-f", cfg], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        log = open(os.path.join(self.workdir, "haproxy.log"), "ab")
        self.logs.append(log)
        self.balancer = subprocess.Popen(
            [haproxy_binary(), "-db", "-f", cfg], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.url = f"http://127.0.0.1:{port}"
        self.stats_url = f"http://127.0.0.1:{stats_port}/stats;csv"
        self.wait_status(["UP"] * len(self.ports))

    def status(self) -> list[str]:
        """The balancer's view of each server: UP, DOWN, ``UP 1/2`` (going down)…"""
        rows = csv.DictReader(io.StringIO(httpx.get(self.stats_url, timeout=5).text.lstrip("# ")))
        by_name = {r["svname"]: r["status"] for r in rows if r["pxname"] == "servers"}
        return [by_name.get(f"s{i}", "?") for i in range(len(self.ports))]

    def wait_status(self, want: list[str], timeout: float = 20.0) -> float:
        """Seconds until the balancer reports ``want``; fails after ``timeout``."""
        t0 = time.monotonic()
        while True:
            try:
                got = self.status()
            except httpx.HTTPError:
                got = []
            if got == want:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"balancer reports {got}, expected {want} after {timeout}s")
            time.sleep(0.1)

    def stop(self) -> None:
        for proc in [self.balancer, *self.procs]:
            if proc is not None:
                stop_process_group(proc)
        for log in self.logs:
            log.close()
