"""N tracking servers (labkeep or mlflow) on one PostgreSQL database behind HAProxy, for benchmarks.

Debian's ``haproxy`` must be installed (``scripts/test.sh`` installs it). Every server process gets
the same connection-pool limits on both sides, so the cluster stays under PostgreSQL's
``max_connections`` on a shared machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from _harness import PYTHON, clean_env

VENV_BIN = Path(PYTHON).parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

HAPROXY_CFG = """\
global
    maxconn 1024
defaults
    mode http
    timeout connect 3s
    timeout client 300s
    timeout server 300s
    retries 3
    option redispatch
    retry-on conn-failure
frontend bench
    bind 127.0.0.1:{port}
    default_backend servers
backend servers
    balance leastconn
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host localhost
    default-server inter 1s fall 3 rise 1
{servers}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)


def create_database(name: str, drop: bool = True) -> str:
    """``postgresql+psycopg://…/name``, dropped and created empty unless ``drop`` is False."""
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if exists and drop:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        if not exists or drop:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def server_command(kind: str, port: int, uri: str, workers: int) -> list[str]:
    if kind == "labkeep":
        return [
            PYTHON, "-c", "from labkeep.cli.server import server; server()", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--backend-store-uri", uri,
        ]  # fmt: skip
    return [
        str(VENV_BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--backend-store-uri", uri,
    ]  # fmt: skip


def _healthy(url: str) -> bool:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
        conn.request("GET", "/health")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


class Cluster:
    """``servers`` × ``kind`` servers with ``workers`` each, behind HAProxy; ``url`` is the balancer."""

    def __init__(self, kind: str, uri: str, workdir: Path, servers: int = 3, workers: int = 2, pool: int = 4):
        self.kind, self.uri, self.workdir = kind, uri, workdir
        self.procs: list[subprocess.Popen] = []
        self.env = clean_env(
            MLFLOW_DISABLE_TELEMETRY="true",
            DO_NOT_TRACK="true",
            LABKEEP_SQL_POOL_SIZE=str(pool),
            LABKEEP_SQL_MAX_OVERFLOW=str(pool),
            MLFLOW_SQLALCHEMYSTORE_POOL_SIZE=str(pool),
            MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW=str(pool),
        )
        self.ports = [free_port() for _ in range(servers)]
        self.workers = workers
        self.url = ""

    def start(self) -> None:
        # The first server creates the schema alone (mlflow's start-up does not lock it), then the rest.
        self._spawn(0)
        self._wait(0)
        for i in range(1, len(self.ports)):
            self._spawn(i)
        for i in range(1, len(self.ports)):
            self._wait(i)
        port = free_port()
        cfg = self.workdir / "haproxy.cfg"
        servers = "\n".join(f"    server s{i} 127.0.0.1:{p} check" for i, p in enumerate(self.ports))
        cfg.write_text(HAPROXY_CFG.format(port=port, servers=servers))
        self.procs.append(
            subprocess.Popen([haproxy_binary(), "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while not _healthy(self.url):
            if time.monotonic() > deadline:
                raise RuntimeError("HAProxy did not answer")
            time.sleep(0.1)
        time.sleep(1.5)  # every server passes its first health check

    def _spawn(self, i: int) -> None:
        log = open(self.workdir / f"{self.kind}{i}.log", "wb")
        self.procs.append(
            subprocess.Popen(
                server_command(self.kind, self.ports[i], self.uri, self.workers),
                cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        )

    def _wait(self, i: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.ports[i]}"
        while not _healthy(url):
            if self.procs[i].poll() is not None or time.monotonic() > deadline:
                log = (self.workdir / f"{self.kind}{i}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{self.kind} server {i} did not start:\n{log}")
            time.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
