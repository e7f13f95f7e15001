"""The fluent API end to end on the embedded store (a SQLite file in the test's cwd)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import pytest

import labkeep as mlflow
from labkeep.exceptions import LabkeepException


def test_default_store_is_labkeep_db_in_cwd(tmp_path):
    assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path}/labkeep.db"
    with mlflow.start_run() as run:
        mlflow.log_param("a", 1)
    assert (tmp_path / "labkeep.db").exists()
    assert run.info.artifact_uri.startswith(str(tmp_path / "labkeep-artifacts"))


def test_env_and_explicit_tracking_uri(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(tmp_path / "mlf"))
    assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path}/mlf/labkeep.db"
    monkeypatch.setenv("LABKEEP_TRACKING_URI", f"sqlite:///{tmp_path}/lk.db")
    assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path}/lk.db"
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/explicit.db")
    assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path}/explicit.db"
    os.makedirs(tmp_path / "folder", exist_ok=True)
    mlflow.set_tracking_uri(str(tmp_path / "folder"))
    with mlflow.start_run() as run:
        pass
    assert (tmp_path / "folder" / "labkeep.db").exists()
    assert run.info.artifact_uri.startswith(str(tmp_path / "folder" / "labkeep-artifacts"))


def test_run_lifecycle_and_nesting():
    exp = mlflow.set_experiment("fluent")
    with mlflow.start_run(run_name="parent", tags={"team": "ml"}, description="hello") as parent:
        assert mlflow.active_run().info.run_id == parent.info.run_id
        with pytest.raises(LabkeepException):
            mlflow.start_run()  # already active, not nested
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("x", 1)
        assert mlflow.active_run().info.run_id == parent.info.run_id
    assert mlflow.active_run() is None
    parent_run = mlflow.get_run(parent.info.run_id)
    child_run = mlflow.get_run(child.info.run_id)
    assert parent_run.info.status == child_run.info.status == "FINISHED"
    assert parent_run.info.end_time >= parent_run.info.start_time
    assert child_run.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert parent_run.data.tags["team"] == "ml"
    assert parent_run.data.tags["mlflow.note.content"] == "hello"
    assert parent_run.data.tags["mlflow.user"]
    assert parent_run.data.tags["mlflow.source.type"] == "LOCAL"
    assert parent_run.info.experiment_id == exp.experiment_id
    assert mlflow.last_active_run().info.run_id == parent.info.run_id


def test_exception_ends_run_failed():
    with pytest.raises(ZeroDivisionError):
        with mlflow.start_run() as run:
            1 / 0  # noqa: B018
    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"


def test_resume_run_and_env_run_id(monkeypatch):
    with mlflow.start_run() as run:
        mlflow.log_param("a", 1)
    with mlflow.start_run(run_id=run.info.run_id):
        mlflow.log_param("b", 2)
    monkeypatch.setenv("MLFLOW_RUN_ID", run.info.run_id)
    with mlflow.start_run() as again:
        mlflow.log_param("c", 3)
    assert again.info.run_id == run.info.run_id
    assert mlflow.get_run(run.info.run_id).data.params == {"a": "1", "b": "2", "c": "3"}


def test_experiment_env_vars(monkeypatch):
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    with mlflow.start_run() as run:
        pass
    assert mlflow.get_experiment(run.info.experiment_id).name == "from-env"
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "777")
    with pytest.raises(LabkeepException) as e:
        mlflow.start_run()
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_set_experiment_by_id_and_deleted():
    exp_id = mlflow.create_experiment("by-id")
    assert mlflow.set_experiment(experiment_id=exp_id).name == "by-id"
    mlflow.delete_experiment(exp_id)
    with pytest.raises(LabkeepException) as e:
        mlflow.set_experiment("by-id")
    assert "restore" in e.value.message
    mlflow.restore_experiment(exp_id)
    mlflow.rename_experiment(exp_id, "by-id-2")
    assert mlflow.get_experiment_by_name("by-id-2").experiment_id == exp_id


def test_logging_functions_and_artifacts(tmp_path):
    with mlflow.start_run() as run:
        assert mlflow.log_param("p", 0.1) == 0.1
        mlflow.log_params({"q": 2, "r": "s"})
        mlflow.log_metric("m", 1.5, step=3, timestamp=1234)
        mlflow.log_metrics({"a": 1, "b": float("nan")}, step=1)
        mlflow.set_tag("t", 1)
        mlflow.set_tags({"u": "v"})
        mlflow.delete_tag("u")
        (tmp_path / "notes.txt").write_text("hello")
        mlflow.log_artifact(str(tmp_path / "notes.txt"))
        mlflow.log_artifact(str(tmp_path / "notes.txt"), artifact_path="sub/dir")
        (tmp_path / "folder").mkdir()
        (tmp_path / "folder" / "x.txt").write_text("x")
        mlflow.log_artifacts(str(tmp_path / "folder"), artifact_path="copied")
        mlflow.log_text("some text", "texts/a.txt")
        mlflow.log_dict({"k": [1, 2]}, "conf.json")
        mlflow.log_dict({"k": [1, 2]}, "conf.yaml")
        mlflow.log_table({"question": ["q1", "q2"], "score": [1, 2]}, "tables/eval.json")
        uri = mlflow.get_artifact_uri("texts/a.txt")
    data = mlflow.get_run(run.info.run_id).data
    assert data.params == {"p": "0.1", "q": "2", "r": "s"}
    assert data.metrics["m"] == 1.5 and data.metrics["a"] == 1 and math.isnan(data.metrics["b"])
    assert data.tags["t"] == "1" and "u" not in data.tags
    root = run.info.artifact_uri
    assert open(os.path.join(root, "sub/dir/notes.txt")).read() == "hello"
    assert open(os.path.join(root, "copied/x.txt")).read() == "x"
    assert open(uri).read() == "some text"
    assert json.load(open(os.path.join(root, "conf.json"))) == {"k": [1, 2]}
    assert "k:" in open(os.path.join(root, "conf.yaml")).read()
    table = json.load(open(os.path.join(root, "tables/eval.json")))
    assert table["columns"] == ["question", "score"] and table["data"] == [["q1", 1], ["q2", 2]]
    assert json.loads(data.tags["mlflow.loggedArtifacts"]) == [{"path": "tables/eval.json", "type": "table"}]
    client = mlflow.Client()
    paths = [f.path for f in client.list_artifacts(run.info.run_id)]
    assert paths == ["conf.json", "conf.yaml", "copied", "notes.txt", "sub", "tables", "texts"]
    local = client.download_artifacts(run.info.run_id, "copied", str(tmp_path / "dl"))
    assert open(os.path.join(local, "x.txt")).read() == "x"


def test_log_image_and_figure():
    np = pytest.importorskip("numpy")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with mlflow.start_run() as run:
        mlflow.log_image(np.zeros((8, 8, 3), dtype="uint8"), "img/black.png")
        mlflow.log_image(np.ones((4, 4)) * 0.5, key="gray", step=2)
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3])
        mlflow.log_figure(fig, "plots/line.png")
        with pytest.raises(LabkeepException):
            mlflow.log_image(np.ones((4, 4)) * 3.0, "img/bad.png")
    root = run.info.artifact_uri
    assert open(os.path.join(root, "img/black.png"), "rb").read(4) == b"\x89PNG"
    assert open(os.path.join(root, "plots/line.png"), "rb").read(4) == b"\x89PNG"
    assert os.listdir(os.path.join(root, "images/gray"))[0].startswith("step_2_")


@pytest.mark.parametrize(
    "bad", ["../escape.txt", "/etc/passwd", "a/../../b.txt", "..\\x.txt", "%2e%2e%2fx.txt"]
)
def test_artifact_traversal_rejected(tmp_path, bad):
    with mlflow.start_run():
        with pytest.raises(LabkeepException) as e:
            mlflow.log_text("x", bad)
        assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert not (tmp_path / "escape.txt").exists()


def test_symlink_escape_rejected(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    with mlflow.start_run() as run:
        mlflow.log_text("x", "inside.txt")
        os.symlink(outside, os.path.join(run.info.artifact_uri, "link"))
        with pytest.raises(LabkeepException):
            mlflow.log_text("pwned", "link/evil.txt")
    assert not (outside / "evil.txt").exists()


def test_search_runs_dataframe_and_list():
    mlflow.set_experiment("search-df")
    for alpha, mse in [("0.1", 0.9), ("0.5", 0.2)]:
        with mlflow.start_run():
            mlflow.log_param("alpha", alpha)
            mlflow.log_metric("mse", mse)
    df = mlflow.search_runs(filter_string="metrics.mse < 1 and params.alpha = '0.5'")
    assert list(df["params.alpha"]) == ["0.5"] and list(df["metrics.mse"]) == [0.2]
    for col in (
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
        "tags.mlflow.runName",
    ):
        assert col in df.columns
    assert str(df["start_time"].dtype).startswith("datetime64")
    runs = mlflow.search_runs(order_by=["metrics.mse DESC"], output_format="list")
    assert [r.data.metrics["mse"] for r in runs] == [0.9, 0.2]
    with pytest.raises(LabkeepException) as e:
        mlflow.search_runs(filter_string="metrics.mse < 1 OR params.alpha = '0.5'")
    assert "OR" in e.value.message


def test_bad_metric_value_types():
    with mlflow.start_run():
        for bad in ("1.0", True, None, [1]):
            with pytest.raises(LabkeepException) as e:
                mlflow.log_metric("m", bad)
            assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_git_commit_and_diff_recorded(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    script = repo / "train.py"
    script.write_text("print('v1')\n")
    env = {k: val for k, val in os.environ.items() if k != "LABKEEP_DISABLE_GIT_CONTEXT"}
    env = {
        **env,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "."], ["git", "commit", "-qm", "init"]):
        subprocess.run(cmd, cwd=repo, check=True, env=env)
    script.write_text(
        textwrap.dedent(
            """
            import labkeep as mlflow
            with mlflow.start_run() as run:
                print(run.info.run_id)
            """
        )
    )
    out = subprocess.run(
        [sys.executable, str(script)], cwd=repo, capture_output=True, text=True, check=True, env=env
    )
    run = mlflow.Client(str(repo)).get_run(out.stdout.strip())
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    assert run.data.tags["mlflow.source.git.commit"] == commit
    assert run.data.tags["mlflow.source.git.branch"] == "main"
    assert run.data.tags["mlflow.source.name"] == str(script)
    diff = open(os.path.join(run.info.artifact_uri, "git-diff.patch")).read()
    assert "import labkeep as mlflow" in diff


def test_uncaught_exception_marks_run_failed_and_exit_marks_finished(tmp_path):
    crash = "import labkeep as mlflow\nrun = mlflow.start_run()\nprint(run.info.run_id, flush=True)\nraise SystemError('boom')\n"
    ok = "import labkeep as mlflow\nrun = mlflow.start_run()\nprint(run.info.run_id, flush=True)\n"
    crashed = subprocess.run([sys.executable, "-c", crash], cwd=tmp_path, capture_output=True, text=True)
    finished = subprocess.run([sys.executable, "-c", ok], cwd=tmp_path, capture_output=True, text=True)
    client = mlflow.Client(str(tmp_path))
    assert crashed.returncode != 0
    assert client.get_run(crashed.stdout.strip()).info.status == "FAILED"
    assert client.get_run(finished.stdout.strip()).info.status == "FINISHED"
