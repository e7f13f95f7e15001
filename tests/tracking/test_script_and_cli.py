"""An ordinary mlflow training script runs unchanged with ``import labkeep as mlflow``, and the
CLI (a real ``labkeep`` process) reads back what it logged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

TRAIN = textwrap.dedent(
    """
    import labkeep as mlflow

    mlflow.set_experiment("mnist-ish")
    with mlflow.start_run(run_name="train") as run:
        mlflow.log_params({"lr": 0.01, "epochs": 3})
        for epoch in range(3):
            mlflow.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
            mlflow.log_metric("acc", 0.5 + epoch / 10, step=epoch)
        with open("model-summary.txt", "w") as fh:
            fh.write("dense(128) -> dense(10)")
        mlflow.log_artifact("model-summary.txt")
        with mlflow.start_run(run_name="eval", nested=True):
            mlflow.log_metric("val_acc", 0.7)
    best = mlflow.search_runs(filter_string="metrics.loss < 0.5 and params.lr = '0.01'")
    print(best.loc[0, "run_id"] == run.info.run_id, len(best))
    """
)


def labkeep_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    exe = shutil.which("labkeep", path=os.path.dirname(sys.executable)) or shutil.which("labkeep")
    assert exe, "the labkeep console script is not installed"
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_training_script_then_cli(tmp_path):
    (tmp_path / "train.py").write_text(TRAIN)
    out = subprocess.run(
        [sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True 1"

    listed = labkeep_cli("experiments", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "mnist-ish" in listed.stdout

    runs = labkeep_cli("runs", "list", "--experiment-name", "mnist-ish", "--json", cwd=tmp_path)
    assert runs.returncode == 0, runs.stderr
    data = json.loads(runs.stdout)
    by_name = {r["info"]["run_name"]: r for r in data}
    assert set(by_name) == {"train", "eval"}
    train = by_name["train"]
    assert {p["key"]: p["value"] for p in train["data"]["params"]} == {"lr": "0.01", "epochs": "3"}
    assert {m["key"]: m["value"] for m in train["data"]["metrics"]} == {
        "loss": pytest.approx(1 / 3),
        "acc": 0.7,
    }
    tags = {t["key"]: t["value"] for t in by_name["eval"]["data"]["tags"]}
    assert tags["mlflow.parentRunId"] == train["info"]["run_id"]

    table = labkeep_cli("runs", "list", "-n", "mnist-ish", "--filter", "metrics.acc > 0.6", cwd=tmp_path)
    assert table.returncode == 0 and "train" in table.stdout and "eval" not in table.stdout

    described = labkeep_cli("runs", "describe", "--run-id", train["info"]["run_id"], cwd=tmp_path)
    assert json.loads(described.stdout)["info"]["status"] == "FINISHED"
    artifact_dir = train["info"]["artifact_uri"]
    assert open(os.path.join(artifact_dir, "model-summary.txt")).read().startswith("dense")


def test_cli_experiment_commands_and_errors(tmp_path):
    created = labkeep_cli("experiments", "create", "-n", "cli-exp", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    exp_id = created.stdout.strip().rsplit(" ", 1)[-1]
    assert (
        labkeep_cli("experiments", "rename", "-x", exp_id, "--new-name", "cli-exp2", cwd=tmp_path).returncode
        == 0
    )
    assert labkeep_cli("experiments", "delete", "-x", exp_id, cwd=tmp_path).returncode == 0
    deleted = labkeep_cli("experiments", "list", "--view", "deleted_only", cwd=tmp_path)
    assert "cli-exp2" in deleted.stdout
    assert labkeep_cli("experiments", "restore", "-x", exp_id, cwd=tmp_path).returncode == 0

    dup = labkeep_cli("experiments", "create", "-n", "cli-exp2", cwd=tmp_path)
    assert dup.returncode == 1
    assert "RESOURCE_ALREADY_EXISTS" in dup.stderr and "Traceback" not in dup.stderr

    missing = labkeep_cli("runs", "describe", "--run-id", "f" * 32, cwd=tmp_path)
    assert missing.returncode == 1 and "RESOURCE_DOES_NOT_EXIST" in missing.stderr

    bad_filter = labkeep_cli("runs", "list", "--filter", "metrics.a < 1 OR params.b = '1'", cwd=tmp_path)
    assert bad_filter.returncode == 1 and "INVALID_PARAMETER_VALUE" in bad_filter.stderr
    assert "Traceback" not in bad_filter.stderr

    bad_id = labkeep_cli("experiments", "delete", "-x", "not-a-number", cwd=tmp_path)
    assert bad_id.returncode == 1 and "INVALID_PARAMETER_VALUE" in bad_id.stderr

    version = labkeep_cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and "labkeep" in version.stdout


def test_db_upgrade_creates_schema(tmp_path):
    target = tmp_path / "fresh.db"
    out = labkeep_cli("db", "upgrade", f"sqlite:///{target}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    from labkeep.stores.sql.migrate import SCHEMA_HEAD

    assert f"to {SCHEMA_HEAD}" in out.stdout
    again = labkeep_cli("db", "upgrade", f"sqlite:///{target}", cwd=tmp_path)
    assert "already" in again.stdout


def test_unreachable_or_missing_database_is_one_line(tmp_path, free_port):
    for uri in (
        f"postgresql://postgres:secret@127.0.0.1:{free_port}/nope",
        f"sqlite:///{tmp_path}/no/such/folder/x.db",
        "mysql+pymysql://root@127.0.0.1:3306/lk_does_not_exist",
    ):
        out = labkeep_cli("runs", "list", "--tracking-uri", uri, cwd=tmp_path)
        assert out.returncode == 1, uri
        assert "TEMPORARILY_UNAVAILABLE" in out.stderr and "Cannot open the database" in out.stderr
        assert "Traceback" not in out.stderr and "secret" not in out.stderr
