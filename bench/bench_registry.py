"""Model registry benchmark: labkeep vs mlflow 3.17.2, side by side, in one invocation.

    .venv/bin/python bench/bench_registry.py            # 1,000 registered models x 10 versions
    .venv/bin/python bench/bench_registry.py --quick    # 100 x 10, a smoke run

Each library runs in a fresh subprocess in its own temporary folder on a SQLite store
(labkeep: ``sqlite:///labkeep.db``; mlflow: ``MlflowClient("sqlite:///mlflow.db")``) holding
N registered models ``m_0 … m_{N-1}`` with 10 versions each and an alias ``champion`` on each
model's version 10. Measured (median of repeated in-process calls):

* ``search_model_versions("name='m_<N/2>'")`` — the 10 versions of one model;
* ``get_model_version_by_alias("m_<N/2>", "champion")``.

Filling: labkeep through its public ``Client`` API; mlflow's schema is created by ``MlflowClient``
(one model, one version, one alias), then the remaining rows are copies of those rows inserted
with ``sqlite3`` (registering 10,000 versions through mlflow's API would take minutes, and the
reads measured here only depend on the rows). Filled stores are cached under ``bench/.cache/``.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    CACHE_DIR,
    MLFLOW_VERSION,
    Measure,
    emit,
    median,
    report,
    run_json,
    temp_dir,
)

VERSIONS = 10
TARGET = 10
CACHE_VERSION = 1


# ====================================================================== worker side
def _fill_labkeep(db: Path, models: int) -> None:
    from labkeep import Client

    client = Client(f"sqlite:///{db}")
    root = client._registry_store.default_artifact_root
    for i in range(models):
        name = f"m_{i}"
        client.create_registered_model(name, tags={"team": f"t{i % 7}"})
        for _ in range(VERSIONS):
            client.create_model_version(name, f"{root}/models/{name}/artifacts")
        client.set_registered_model_alias(name, "champion", str(VERSIONS))


def _fill_mlflow(db: Path, models: int) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{db}")
    client.create_registered_model("m_0", tags={"team": "t0"})
    client.create_model_version("m_0", "file:///tmp/models/m_0/artifacts", await_creation_for=0)
    # Copy the rows mlflow wrote for m_0 v1 into N models x 10 versions (column-agnostic).
    conn = sqlite3.connect(db)
    with conn:
        _copy_rows(conn, "registered_models", {"name": "m_0"}, [{"name": f"m_{i}"} for i in range(1, models)])
        _copy_rows(
            conn,
            "registered_model_tags",
            {"name": "m_0"},
            [{"name": f"m_{i}", "value": f"t{i % 7}"} for i in range(1, models)],
        )
        _copy_rows(
            conn,
            "model_versions",
            {"name": "m_0", "version": 1},
            [
                {"name": f"m_{i}", "version": v, "source": f"file:///tmp/models/m_{i}/artifacts"}
                for i in range(models)
                for v in range(1, VERSIONS + 1)
                if (i, v) != (0, 1)
            ],
        )
    conn.close()
    client.set_registered_model_alias("m_0", "champion", str(VERSIONS))
    conn = sqlite3.connect(db)
    with conn:
        _copy_rows(
            conn, "registered_model_aliases", {"name": "m_0"}, [{"name": f"m_{i}"} for i in range(1, models)]
        )
    conn.close()


def _settle(db: Path) -> None:
    """Fold the WAL into the database file and drop side files, so the file alone is the store."""
    if "labkeep" in sys.modules:
        from labkeep.stores import clear_store_cache

        clear_store_cache()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm", ".schema-lock"):
        Path(str(db) + suffix).unlink(missing_ok=True)


def _copy_rows(conn: sqlite3.Connection, table: str, where: dict, changes: list[dict]) -> None:
    cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    cond = " AND ".join(f"{k} = ?" for k in where)
    row = conn.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE {cond}", list(where.values())).fetchone()
    if row is None:
        raise SystemExit(f"no template row in mlflow table {table}")
    template = dict(zip(cols, row, strict=True))
    rows = [[{**template, **c}[col] for col in cols] for c in changes]
    conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)


def _worker(lib: str, models: int, trials: int) -> None:
    cache = CACHE_DIR / f"registry-{lib}-{models}x{VERSIONS}-v{CACHE_VERSION}.db"
    db = Path("store.db").resolve()
    if not cache.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".filling")
        tmp.unlink(missing_ok=True)
        t0 = time.perf_counter()
        (_fill_labkeep if lib == "labkeep" else _fill_mlflow)(tmp, models)
        _settle(tmp)
        print(f"filled {lib} store in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        tmp.rename(cache)
    shutil.copy(cache, db)
    if lib == "labkeep":
        from labkeep import Client

        client = Client(f"sqlite:///{db}")
    else:
        import mlflow
        from mlflow import MlflowClient

        if mlflow.__version__ != MLFLOW_VERSION:
            raise SystemExit(f"bench expects mlflow=={MLFLOW_VERSION}, found {mlflow.__version__}")
        client = MlflowClient(f"sqlite:///{db}")
    target = f"m_{models // 2}"

    def search() -> None:
        found = client.search_model_versions(f"name='{target}'")
        assert len(found) == VERSIONS, len(found)

    def by_alias() -> None:
        assert str(client.get_model_version_by_alias(target, "champion").version) == str(VERSIONS)

    out = {}
    for label, fn in (("search_model_versions", search), ("get_model_version_by_alias", by_alias)):
        for _ in range(5):
            fn()
        times = []
        for _ in range(trials):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        out[label] = median(times)
    emit(out)


# ====================================================================== driver side
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="100 models instead of 1,000")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--worker", choices=("labkeep", "mlflow"), help=argparse.SUPPRESS)
    parser.add_argument("--models", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    models = args.models or (100 if args.quick else 1000)
    if args.worker:
        _worker(args.worker, models, args.trials)
        return
    results = {}
    for lib in ("labkeep", "mlflow"):
        with temp_dir(f"registry-{lib}") as cwd:
            results[lib] = run_json(
                [
                    str(Path(__file__).resolve()),
                    "--worker",
                    lib,
                    "--models",
                    str(models),
                    "--trials",
                    str(args.trials),
                ],
                cwd,
            )
    measures = [
        Measure(
            f"{label} ({models}x{VERSIONS})",
            "s",
            results["labkeep"][label],
            results["mlflow"][label],
            target=TARGET,
        )
        for label in ("search_model_versions", "get_model_version_by_alias")
    ]
    report("registry", measures, {"models": models, "versions_per_model": VERSIONS, "trials": args.trials})


if __name__ == "__main__":
    main()
