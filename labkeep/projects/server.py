"""A ``labkeep server`` on a free loopback port for the length of one project run.

Projects whose code does ``import mlflow`` (the real package) must log into labkeep. The real
mlflow client must never open labkeep's database file itself, so when the run's tracking store
is a database the runner serves it over HTTP and gives the child that URL.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from labkeep.projects.errors import ProjectError

_SERVER_CODE = (
    "import sys; from labkeep.cli.server import server; sys.exit(server(prog_name='labkeep server'))"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TemporaryServer:
    """Start with :meth:`start`, stop with :meth:`stop` (also a context manager)."""

    def __init__(self, store_uri: str, artifact_root: str, registry_uri: str | None = None) -> None:
        self.store_uri = store_uri
        self.artifact_root = artifact_root
        self.registry_uri = registry_uri
        self.port: int | None = None
        self._proc: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile(mode="w+b")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> str:
        self.port = free_port()
        argv = [
            sys.executable,
            "-c",
            _SERVER_CODE,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--backend-store-uri",
            self.store_uri,
            "--default-artifact-root",
            self.artifact_root,
            "--artifacts-destination",
            self.artifact_root,
        ]
        if self.registry_uri and self.registry_uri != self.store_uri:
            argv += ["--registry-store-uri", self.registry_uri]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABKEEP_SERVER_")}
        self._proc = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ProjectError(
                    f"The temporary tracking server exited (code {self._proc.returncode}): {self._tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return self.url
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise ProjectError(
            f"The temporary tracking server did not answer within {timeout:.0f} s: {self._tail()}"
        )

    def _tail(self) -> str:
        self._log.seek(0)
        lines = self._log.read().decode("utf-8", "replace").strip().splitlines()
        return " | ".join(lines[-3:]) or "(no output)"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._log.close()

    def __enter__(self) -> TemporaryServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
