"""``labkeep.artifacts``: mlflow.artifacts' helpers on the embedded store."""

import os

import pytest

import labkeep as mlflow
from labkeep.exceptions import LabkeepException


def test_download_list_and_load(tmp_path):
    with mlflow.start_run() as run:
        mlflow.log_text("hello", "docs/a.txt")
        mlflow.log_dict({"k": 1}, "conf/c.yaml")
        mlflow.log_dict({"k": 2}, "conf/c.json")
    run_id = run.info.run_id
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="docs", dst_path=str(tmp_path / "d")
    )
    assert open(os.path.join(local, "a.txt")).read() == "hello"
    local_file = mlflow.artifacts.download_artifacts(
        f"{run.info.artifact_uri}/docs/a.txt", dst_path=str(tmp_path / "f")
    )
    assert open(local_file).read() == "hello"
    assert [f.path for f in mlflow.artifacts.list_artifacts(run_id=run_id, artifact_path="conf")] == [
        "conf/c.json",
        "conf/c.yaml",
    ]
    assert mlflow.artifacts.load_text(f"{run.info.artifact_uri}/docs/a.txt") == "hello"
    assert mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/conf/c.yaml") == {"k": 1}
    assert mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/conf/c.json") == {"k": 2}
    with pytest.raises(LabkeepException):
        mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="../../etc")
    with pytest.raises(LabkeepException):
        mlflow.artifacts.download_artifacts(artifact_uri="x", run_id=run_id)
    with pytest.raises(LabkeepException) as e:
        mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="missing.txt", dst_path=str(tmp_path / "m")
        )
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
