"""8 processes register the same model name at the same moment: versions 1..8, no gaps, no duplicates."""

from __future__ import annotations

import multiprocessing as mp

from labkeep.exceptions import ResourceAlreadyExists

WORKERS = 8


def _register(uri: str, root: str, name: str, start, out) -> None:
    from labkeep.stores.sql.registry import SqlRegistryStore

    store = SqlRegistryStore(uri, default_artifact_root=root)
    start.wait(60)
    try:
        try:  # what register_model does: create the name, tolerate that another process won
            store.create_registered_model(name)
        except ResourceAlreadyExists:
            pass
        out.put(store.create_model_version(name, f"{root}/model").version)
    except Exception as exc:  # report instead of hanging the parent
        out.put(f"error: {exc!r}")
    finally:
        store.close()


def test_concurrent_registration(db_uri, tmp_path):
    from labkeep.stores.sql.registry import SqlRegistryStore

    root = str(tmp_path / "artifacts")
    SqlRegistryStore(db_uri, default_artifact_root=root).close()  # migrate once up front
    ctx = mp.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_register, args=(db_uri, root, "Churn", start, out)) for _ in range(WORKERS)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    assert sorted(results, key=str) == sorted((str(i) for i in range(1, WORKERS + 1)), key=str), results
    store = SqlRegistryStore(db_uri, default_artifact_root=root)
    try:
        assert store.get_model_version("Churn", str(WORKERS)).status == "READY"
        assert [v.version for v in store.get_latest_versions("Churn")] == [str(WORKERS)]
    finally:
        store.close()


def _register_over_rest(url: str, name: str, start, out) -> None:
    from labkeep.stores.rest.registry import RestRegistryStore

    store = RestRegistryStore(url)
    start.wait(60)
    try:
        try:
            store.create_registered_model(name)
        except ResourceAlreadyExists:
            pass
        out.put(store.create_model_version(name, "mlflow-artifacts:/0/shared/model").version)
    except Exception as exc:
        out.put(f"error: {exc!r}")
    finally:
        store.close()


def test_concurrent_registration_through_a_two_worker_server(tmp_path):
    from tests.server.helpers import running_server

    with running_server(["--workers", "2"], cwd=str(tmp_path)) as (url, _proc):
        ctx = mp.get_context("fork")
        start, out = ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(target=_register_over_rest, args=(url, "Shared", start, out)) for _ in range(WORKERS)
        ]
        for p in procs:
            p.start()
        start.set()
        results = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(60)
    assert sorted(results, key=str) == sorted((str(i) for i in range(1, WORKERS + 1)), key=str), results
