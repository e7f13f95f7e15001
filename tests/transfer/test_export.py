"""``labkeep export`` and ``labkeep import labkeep``: the portable folder round-trips exactly, and
the same engine moves a store into another (SQLite to PostgreSQL/MariaDB when a team grows)."""

from __future__ import annotations

import json
import os

import pytest

from tests.transfer.helpers import differences, dump, labkeep_cli

pytestmark = [pytest.mark.compat, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def labkeep_store(mlflow_sources, tmp_path_factory):
    """A labkeep store holding the MLflow history (imported once)."""
    base = tmp_path_factory.mktemp("labkeep-store")
    out = labkeep_cli(
        "import", "mlflow", mlflow_sources["sqlite"]["uri"], "--to", str(base / "a"), "-q", cwd=str(base)
    )
    assert out.returncode == 0, out.stderr
    return str(base / "a")


def test_export_folder_round_trips_exactly(mlflow_sources, labkeep_store, tmp_path):
    folder = tmp_path / "backup"
    out = labkeep_cli("export", "--from", labkeep_store, "--to", str(folder), cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert json.loads((folder / "manifest.json").read_text())["format"] == "labkeep-export"
    assert (folder / "experiments.jsonl").exists() and (folder / "registered_models.jsonl").exists()
    again = labkeep_cli("export", "--from", labkeep_store, "--to", str(folder), "--json", cwd=str(tmp_path))
    assert again.returncode == 0 and json.loads(again.stdout)["moved"].get("runs", 0) == 0

    moved = tmp_path / "moved-backup"
    os.rename(folder, moved)  # the folder is relocatable
    restored = str(tmp_path / "restored")
    out = labkeep_cli("import", "labkeep", str(moved), "--to", restored, cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert differences(mlflow_sources["sqlite"]["dump"], dump("labkeep", restored, str(tmp_path))) == []


def test_store_to_store_on_every_backend(mlflow_sources, labkeep_store, db_uri, tmp_path):
    out = labkeep_cli("import", "labkeep", labkeep_store, "--to", db_uri, cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert differences(mlflow_sources["sqlite"]["dump"], dump("labkeep", db_uri, str(tmp_path))) == []
