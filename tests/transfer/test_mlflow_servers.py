"""Imports from MLflow databases on PostgreSQL and MariaDB created by mlflow 3.17.2 itself, and from
a real ``mlflow server`` process (on PostgreSQL) through its REST API and artifact proxy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.dbs import BACKENDS, temporary_database
from tests.transfer.helpers import differences, dump, labkeep_cli, make_mlflow_store

pytestmark = [pytest.mark.compat, pytest.mark.slow]


def _without_artifacts(d: dict) -> dict:
    for run in d["runs"].values():
        run.pop("artifacts", None)
    return d


@pytest.mark.skipif("mysql" not in BACKENDS, reason="MariaDB not selected in LABKEEP_TEST_BACKENDS")
@pytest.mark.timeout(600)
def test_mlflow_database_on_mariadb_imports(tmp_path):
    with temporary_database("mysql", tmp_path, fresh=True) as uri:
        make_mlflow_store(uri, str(tmp_path))
        want = dump("mlflow", uri, str(tmp_path))
        dest = str(tmp_path / "dest")
        out = labkeep_cli("import", "mlflow", uri, "--to", dest, cwd=str(tmp_path))
        assert out.returncode == 0, out.stdout + out.stderr
        assert differences(want, dump("labkeep", dest, str(tmp_path))) == []


@pytest.fixture
def mlflow_server(tmp_path):
    """A real ``mlflow server`` on a fresh PostgreSQL database; yields (url, database uri)."""
    if "postgresql" not in BACKENDS:
        pytest.skip("PostgreSQL not selected in LABKEEP_TEST_BACKENDS")
    from tests.server.helpers import free_port

    with temporary_database("postgresql", tmp_path, fresh=True) as db:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LABKEEP_"))}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                db,
                "--artifacts-destination",
                str(tmp_path / "served-artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 240
            while True:
                assert proc.poll() is None, "mlflow server exited"
                try:
                    if httpx.get(url + "/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "mlflow server did not start"
                time.sleep(0.5)
            yield url, db
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


@pytest.mark.timeout(900)
def test_mlflow_server_on_postgresql_imports_over_rest_and_from_its_database(mlflow_server, tmp_path):
    url, db = mlflow_server
    run_id = make_mlflow_store(url, str(tmp_path))
    want = dump("mlflow", url, str(tmp_path))
    assert want["runs"][run_id]["artifacts"]

    over_rest = str(tmp_path / "from-rest")
    out = labkeep_cli("import", "mlflow", url, "--to", over_rest, cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert differences(want, dump("labkeep", over_rest, str(tmp_path))) == []
    again = labkeep_cli("import", "mlflow", url, "--to", over_rest, "--json", cwd=str(tmp_path))
    assert again.returncode == 0 and '"runs": 6' in again.stdout.split('"unchanged"')[1]

    direct = str(tmp_path / "from-db")
    out = labkeep_cli("import", "mlflow", db, "--to", direct, "--artifacts-server", url, cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert differences(want, dump("labkeep", direct, str(tmp_path))) == []

    # Without the server, mlflow-artifacts:/ locations cannot be read: named, the rest imports.
    blind = str(tmp_path / "blind")
    out = labkeep_cli("import", "mlflow", db, "--to", blind, "--json", cwd=str(tmp_path))
    assert out.returncode == 1 and "--artifacts-server" in out.stdout
    assert (
        differences(_without_artifacts(dict(want)), _without_artifacts(dump("labkeep", blind, str(tmp_path))))
        == []
    )
