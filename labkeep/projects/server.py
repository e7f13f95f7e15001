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
import threading
import time
import urllib.request
from typing import Any

from labkeep import config
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


class InProcessServer:
    """The same server app in a thread of the runner: no second interpreter to boot (~1 s saved).

    The socket is bound before the thread starts, so the port cannot be taken in between.
    """

    def __init__(self, store_uri: str, artifact_root: str, registry_uri: str | None = None) -> None:
        self.store_uri = store_uri
        self.artifact_root = artifact_root
        self.registry_uri = registry_uri
        self.port: int | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> str:
        try:
            import uvicorn

            from labkeep.server.app import create_app
            from labkeep.server.settings import ServerSettings

            settings = ServerSettings(
                backend_store_uri=self.store_uri,
                registry_store_uri=self.registry_uri if self.registry_uri != self.store_uri else None,
                artifacts_destination=self.artifact_root,
                default_artifact_root=self.artifact_root,
                host="127.0.0.1",
            )
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            self.port = settings.port = sock.getsockname()[1]
            app = create_app(settings)
        except Exception as exc:  # noqa: BLE001 - one clear message for any setup failure
            raise ProjectError(f"Could not start the temporary tracking server: {exc}")
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", server_header=False
        )
        self._server = uvicorn.Server(config)

        def serve() -> None:
            try:
                self._server.run(sockets=[sock])
            except BaseException as exc:  # noqa: BLE001 - reported by start()
                self._error = exc

        self._thread = threading.Thread(target=serve, name="labkeep-run-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ProjectError(f"The temporary tracking server did not start: {self._error or 'timeout'}")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
        self._server = self._thread = None


def start_server(
    store_uri: str, artifact_root: str, registry_uri: str | None = None
) -> TemporaryServer | InProcessServer:
    """Serve ``store_uri`` on a free loopback port: in this process by default, as a
    ``labkeep server`` subprocess when ``LABKEEP_PROJECT_SERVER_MODE=process``."""
    mode = (config.PROJECT_SERVER_MODE.get() or "thread").strip().lower()
    cls = TemporaryServer if mode == "process" else InProcessServer
    server = cls(store_uri, artifact_root, registry_uri)
    server.start()
    return server


def start_run_server(store_uri: str, use_configured_registry: bool) -> TemporaryServer | InProcessServer:
    """Serve a run's database store on loopback, with the configured registry when it is a database too."""
    from labkeep import config

    registry_uri = config.get_registry_uri() if use_configured_registry else None
    if registry_uri and registry_uri.startswith(("http://", "https://")):
        registry_uri = None
    return start_server(store_uri, config.default_artifact_root(store_uri), registry_uri)
