"""Real MLflow histories made by the installed mlflow 3.17.2, built once per test session."""

from __future__ import annotations

import pytest

from tests.transfer.helpers import dump, make_mlflow_store


@pytest.fixture(scope="session")
def mlflow_sources(tmp_path_factory):
    """{"files": mlruns folder, "sqlite": sqlite URI} with their mlflow dumps."""
    base = tmp_path_factory.mktemp("mlflow-sources")
    out = {}
    for kind in ("files", "sqlite"):
        cwd = base / kind
        cwd.mkdir()
        uri = str(cwd / "mlruns") if kind == "files" else f"sqlite:///{cwd}/mlflow.db"
        run_id = make_mlflow_store(uri, str(cwd))
        out[kind] = {"uri": uri, "run_id": run_id, "dump": dump("mlflow", uri, str(cwd)), "cwd": str(cwd)}
    return out
