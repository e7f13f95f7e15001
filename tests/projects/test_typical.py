"""The issue's typical project, for real: conda.yaml asking for python=3.9 and scikit-learn/numpy/pandas,
no conda on this machine (translated into a uv environment), a training script that uses either
``import labkeep as mlflow`` or the real ``import mlflow``."""

import os
import sys

import pytest

import labkeep

from .helpers import init_repo, run_cli, write

MLPROJECT = """
name: linear-regression
conda_env: conda.yaml
entry_points:
  main:
    parameters:
      n_samples: {type: int, default: 100}
      noise: {type: float, default: 0.1}
      model_name: {type: str, default: "LinearRegressionDemo"}
    command: "python train.py --n_samples {n_samples} --noise {noise} --model_name {model_name}"
"""

CONDA = """
name: demo
channels: [conda-forge]
dependencies:
  - python=3.9
  - pip
  - pip:
{pip}
"""

TRAIN = """
import argparse, sys
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error
import {module} as mlflow

p = argparse.ArgumentParser()
p.add_argument("--n_samples", type=int)
p.add_argument("--noise", type=float)
p.add_argument("--model_name")
a = p.parse_args()
rng = np.random.default_rng(0)
X = pd.DataFrame({{"x": rng.normal(size=a.n_samples)}})
y = 3 * X["x"] + rng.normal(scale=a.noise, size=a.n_samples)
with mlflow.start_run():
    model = LinearRegression().fit(X, y)
    mlflow.log_metric("mse", mean_squared_error(y, model.predict(X)))
    mlflow.log_param("python", "%d.%d" % sys.version_info[:2])
    mlflow.log_text(a.model_name, "model/name.txt")
    print("trained", a.model_name, flush=True)
"""


@pytest.fixture(autouse=True)
def _persistent_env_cache(monkeypatch):
    """These tests are about running the project, not about cold builds (tested with fresh caches
    in test_envs.py), so their big environments (scikit-learn, pandas, mlflow) persist between
    test sessions in the user's cache folder."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    monkeypatch.setenv("LABKEEP_ENV_CACHE", os.path.join(base, "labkeep", "test-envs"))


def _project(directory, module, pip):
    write(directory / "MLproject", MLPROJECT)
    write(directory / "conda.yaml", CONDA.format(pip="\n".join(f"    - {p}" for p in pip)))
    write(directory / "train.py", TRAIN.format(module=module))
    return directory


def _runs(cwd, experiment):
    client = labkeep.Client(f"sqlite:///{cwd}/labkeep.db")
    exp = client.get_experiment_by_name(experiment)
    return client, list(client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"]))


@pytest.mark.slow
def test_typical_project_with_labkeep_import_from_folder_and_git_repo(tmp_path):
    project = _project(tmp_path / "proj", "labkeep", ["scikit-learn", "numpy", "pandas"])
    commit = init_repo(project)
    args = ("-P", "n_samples=200", "-P", "noise=0.2", "--experiment-name", "demo")
    first = run_cli(".", *args, cwd=project, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "conda is not installed" in first.stderr and "adding the running labkeep" in first.stderr
    assert "labkeep needs Python >= 3.10" in first.stderr  # python=3.9 cannot host labkeep
    second = run_cli(f"file://{project}", *args, cwd=project, timeout=600)
    assert second.returncode == 0, second.stderr
    assert "building uv environment" not in second.stderr  # same environment, reused
    client, runs = _runs(project, "demo")
    assert len(runs) == 2
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.params["n_samples"] == "200" and run.data.params["noise"] == "0.2"
        assert run.data.params["model_name"] == "LinearRegressionDemo" and run.data.params["python"] == "3.10"
        assert run.data.metrics["mse"] < 0.1
        assert run.data.tags["mlflow.source.git.commit"] == commit
        assert {f.path for f in client.list_artifacts(run.info.run_id)} >= {"model", "project_output.txt"}
    assert runs[1].data.tags["mlflow.source.name"] == f"file://{project}"


@pytest.mark.slow
def test_typical_project_with_plain_mlflow_in_its_environment(tmp_path):
    have_39 = os.path.isdir(os.path.expanduser("~/.pyenv/versions")) and any(
        v.startswith("3.9.") for v in os.listdir(os.path.expanduser("~/.pyenv/versions"))
    )
    project = _project(tmp_path / "proj", "mlflow", ["mlflow", "scikit-learn", "numpy", "pandas"])
    result = run_cli(
        ".", "-P", "n_samples=200", "-P", "noise=0.2", "--experiment-name", "demo", cwd=project, timeout=900
    )
    assert result.returncode == 0, result.stderr
    assert "trained LinearRegressionDemo" in result.stdout
    client, runs = _runs(project, "demo")
    (run,) = runs
    assert run.info.status == "FINISHED" and run.data.metrics["mse"] < 0.1
    expected = "3.9" if have_39 else f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert run.data.params["python"] == expected
    assert client.download_artifacts(run.info.run_id, "model/name.txt")
