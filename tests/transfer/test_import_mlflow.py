"""``labkeep import mlflow`` on stores made by the real mlflow 3.17.2, checked against what mlflow
itself reads back from the source (experiments, runs, every metric point, inputs, artifacts,
logged models, registered models with versions, stages, aliases and tags)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.transfer.helpers import differences, dump, labkeep_cli

pytestmark = [pytest.mark.compat, pytest.mark.timeout(900)]


@pytest.mark.parametrize("kind", ["files", "sqlite"])
def test_mlflow_store_imports_completely_and_twice_changes_nothing(mlflow_sources, kind, tmp_path):
    src = mlflow_sources[kind]
    dest = str(tmp_path / "dest")
    first = labkeep_cli("import", "mlflow", src["uri"], "--to", dest, "--json", cwd=str(tmp_path))
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["moved"]["runs"] == 6 and summary["skipped"] == []
    assert "runs" in first.stderr and "metrics" in first.stderr  # progress per stage
    got = dump("labkeep", dest, str(tmp_path))
    assert differences(src["dump"], got) == []
    main = got["runs"][src["run_id"]]
    assert len(main["history"]["loss"]) >= 20 and main["artifacts"]
    assert got["registered_models"]["reg-a"]["aliases"] == {"champion": "1"}

    again = labkeep_cli("import", "mlflow", src["uri"], "--to", dest, "--json", cwd=str(tmp_path))
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["moved"].get("runs", 0) == 0 and summary["unchanged"]["runs"] == 6
    assert differences(src["dump"], dump("labkeep", dest, str(tmp_path))) == []


def test_dry_run_and_experiment_choice(mlflow_sources, tmp_path):
    src = mlflow_sources["sqlite"]
    dest = str(tmp_path / "dest")
    dry = labkeep_cli("import", "mlflow", src["uri"], "--to", dest, "--dry-run", "--json", cwd=str(tmp_path))
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["moved"]["runs"] == 6
    assert not os.path.exists(os.path.join(dest, "labkeep-artifacts"))
    chosen = labkeep_cli(
        "import", "mlflow", src["uri"], "--to", dest, "--experiments", "exp-b", "--json", cwd=str(tmp_path)
    )
    assert chosen.returncode == 0, chosen.stderr
    got = dump("labkeep", dest, str(tmp_path))
    assert {r["experiment"] for r in got["runs"].values()} == {"exp-b"}
    assert len(got["runs"]) == 3


def test_keep_artifact_locations_references_the_source(mlflow_sources, tmp_path):
    src = mlflow_sources["files"]
    dest = str(tmp_path / "dest")
    out = labkeep_cli(
        "import", "mlflow", src["uri"], "--to", dest, "--keep-artifact-locations", cwd=str(tmp_path)
    )
    assert out.returncode == 0, out.stderr
    assert not os.path.exists(os.path.join(dest, "labkeep-artifacts"))
    got = dump("labkeep", dest, str(tmp_path))
    assert got["runs"][src["run_id"]]["artifacts"] == src["dump"]["runs"][src["run_id"]]["artifacts"]


def test_bad_items_are_skipped_named_and_the_rest_imports(mlflow_sources, tmp_path):
    src = mlflow_sources["files"]
    copy = tmp_path / "mlruns"
    shutil.copytree(src["uri"], copy)
    run_dir = next(p for p in copy.glob("*/*") if p.name == src["run_id"])
    (run_dir / "meta.yaml").write_text("run_id: [unclosed\n")
    dest = str(tmp_path / "dest")
    out = labkeep_cli("import", "mlflow", str(copy), "--to", dest, "--json", cwd=str(tmp_path))
    assert out.returncode == 1
    summary = json.loads(out.stdout)
    assert [p["item"] for p in summary["skipped"]] == [src["run_id"]]
    assert "not valid YAML" in summary["skipped"][0]["reason"]
    assert summary["moved"]["runs"] == 5
    assert "skipped" in out.stderr


def test_not_an_mlflow_store_is_a_clear_error(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    out = labkeep_cli(
        "import", "mlflow", str(tmp_path / "junk"), "--to", str(tmp_path / "d"), cwd=str(tmp_path)
    )
    assert out.returncode == 1 and "not an MLflow file store" in out.stderr and "Traceback" not in out.stderr
    (tmp_path / "other.db").write_bytes(b"")
    import sqlite3

    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.commit()
    out = labkeep_cli(
        "import", "mlflow", f"sqlite:///{tmp_path}/other.db", "--to", str(tmp_path / "d"), cwd=str(tmp_path)
    )
    assert (
        out.returncode == 1
        and "not an MLflow tracking database" in out.stderr
        and "Traceback" not in out.stderr
    )
