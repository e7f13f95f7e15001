"""Server launcher for MLflow's own REST tests, run against a real server process.

``run.sh`` puts this file in place of the peer suite's ``tests/tracking/integration_test_utils.py``
(in a temporary copy of MLflow's ``tests/``, never inside this repository). It offers the names
the peer tests import (``ServerThread``, ``_init_server``, ``_send_rest_tracking_post_request``,
``get_safe_port``), but instead of serving MLflow's app in a thread it starts a server process:

- ``COMPAT_SERVER=labkeep`` (default): ``labkeep server``;
- ``COMPAT_SERVER=mlflow``: ``mlflow server`` (the reference run; same selection, same settings).

The fixture has already opened its SQLite database with MLflow's store (``initialize_backend_stores``);
the server gets a fresh database beside it (a new SQLite file, or with ``COMPAT_BACKEND=postgresql``
a new PostgreSQL database on 127.0.0.1:5432) and the fixture's default artifact root. While the
server runs, the default tracking URI points at it, so test bodies using the fluent API reach it too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

LOCALHOST = "127.0.0.1"
PG_ADMIN = os.environ.get("COMPAT_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def get_safe_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind((LOCALHOST, 0))
        return s.getsockname()[1]


def _server_kind() -> str:
    kind = os.environ.get("COMPAT_SERVER", "labkeep")
    if kind not in ("labkeep", "mlflow"):
        raise ValueError(f"COMPAT_SERVER must be 'labkeep' or 'mlflow', got {kind!r}")
    return kind


@contextlib.contextmanager
def _fresh_backend(beside: Path, template: str | None = None) -> Iterator[str]:
    """A new, empty database for one server; dropped afterwards (PostgreSQL).

    For ``mlflow server`` on SQLite, ``template`` (the fixture's database, already migrated by
    MLflow's store and still empty) is copied: migrating a new file takes mlflow many seconds.
    """
    if os.environ.get("COMPAT_BACKEND", "sqlite") != "postgresql":
        path = beside / f"server-{uuid.uuid4().hex[:8]}.db"
        if _server_kind() == "mlflow" and template and os.path.exists(template):
            shutil.copy2(template, path)
        yield f"sqlite:///{path}"
        return
    from sqlalchemy import create_engine, text

    name = "lkcompat_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _command(port: int, backend_uri: str, artifact_root: str) -> list[str]:
    common = ["--host", LOCALHOST, "--port", str(port), "--backend-store-uri", backend_uri]
    if _server_kind() == "mlflow":
        # mlflow's ASGI app under uvicorn, as `mlflow server` runs it (one worker, no job runner);
        # the store settings travel in the environment (see _mlflow_env)
        return [sys.executable, "-m", "uvicorn", "mlflow.server.fastapi_app:app", "--host", LOCALHOST,
                "--port", str(port), "--workers", "1"]  # fmt: skip
    labkeep = shutil.which("labkeep", path=os.path.dirname(sys.executable)) or shutil.which("labkeep")
    cmd = [labkeep] if labkeep else [sys.executable, "-c", "from labkeep.cli import main; main()"]
    return [*cmd, "server", *common, "--default-artifact-root", artifact_root]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} not healthy after {timeout}s: {log.read_text()[-3000:]}")


@contextlib.contextmanager
def _server(
    workdir: Path,
    artifact_root: str,
    port: int | None = None,
    extra_env: dict[str, Any] | None = None,
    template: str | None = None,
) -> Iterator[str]:
    """Start the chosen server on a fresh database; yield its URL; stop it."""
    import mlflow

    port = port or get_safe_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"server-{port}.log"
    # the peer's in-thread app runs no background job workers; neither does the server process
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env.update({k: str(v) for k, v in (extra_env or {}).items()})
    env.pop("MLFLOW_TRACKING_URI", None)
    with _fresh_backend(workdir, template) as backend_uri, open(log, "wb") as out:
        if _server_kind() == "mlflow":
            from mlflow.server import ARTIFACT_ROOT_ENV_VAR, BACKEND_STORE_URI_ENV_VAR

            env.update({BACKEND_STORE_URI_ENV_VAR: backend_uri, ARTIFACT_ROOT_ENV_VAR: artifact_root})
        proc = subprocess.Popen(
            _command(port, backend_uri, artifact_root),
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://{LOCALHOST}:{port}"
        previous = mlflow.get_tracking_uri()
        try:
            _wait_healthy(url, proc, log)
            mlflow.set_tracking_uri(url)
            yield url
        finally:
            mlflow.set_tracking_uri(previous)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)


class ServerThread:
    """Stands in for the peer's in-thread server: ``with ServerThread(app, port) as url``.

    Reads the fixture's settings from the store MLflow's handlers were initialised with.
    """

    def __init__(self, app: Any = None, port: int | None = None) -> None:
        self.port = port or get_safe_port()
        self.url = f"http://{LOCALHOST}:{self.port}"
        self._cm: contextlib.AbstractContextManager[str] | None = None

    def __enter__(self) -> str:
        from mlflow.server import handlers

        store = handlers._tracking_store
        db_uri = getattr(store, "db_uri", "") or ""
        if db_uri.startswith("sqlite:///"):
            workdir = Path(db_uri[len("sqlite:///") :]).parent / f"compat-{uuid.uuid4().hex[:6]}"
        else:
            workdir = Path(tempfile.mkdtemp(prefix="compat-server-"))
        artifact_root = getattr(store, "artifact_root_uri", None) or (workdir / "artifacts").as_uri()
        template = db_uri[len("sqlite:///") :] if db_uri.startswith("sqlite:///") else None
        self._cm = _server(workdir, artifact_root, self.port, template=template)
        return self._cm.__enter__()

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._cm is not None
        self._cm.__exit__(exc_type, exc, tb)


@contextlib.contextmanager
def _init_server(
    backend_uri: str,
    root_artifact_uri: str,
    extra_env: dict[str, Any] | None = None,
    app: str | None = None,
    server_type: str = "fastapi",
) -> Iterator[str]:
    """The peer's process launcher, starting the chosen server on a fresh database."""
    workdir = Path(tempfile.mkdtemp(prefix="compat-init-server-"))
    root = (
        root_artifact_uri if "://" in root_artifact_uri and not root_artifact_uri.startswith("http") else None
    )
    with _server(workdir, root or (workdir / "artifacts").as_uri(), extra_env=extra_env) as url:
        yield url


def _send_rest_tracking_post_request(tracking_server_uri, api_path, json_payload, auth=None):
    """POST ``json_payload`` to ``api_path`` on the server; return the ``requests`` response."""
    return requests.post(tracking_server_uri + api_path, json=json_payload, auth=auth)
