"""Builders for project folders and git repositories used by the projects tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

TRAIN_LABKEEP = """
import argparse
import labkeep as mlflow

p = argparse.ArgumentParser()
p.add_argument("--n_samples", type=int)
p.add_argument("--noise", type=float)
p.add_argument("--model_name")
a = p.parse_args()
with mlflow.start_run() as run:
    print("training", a.model_name, a.n_samples, a.noise, flush=True)
    mlflow.log_metric("mse", a.noise * 2)
    mlflow.log_text("weights", "model/weights.txt")
"""

MLPROJECT_MAIN = """
name: demo
{env}
entry_points:
  main:
    parameters:
      n_samples: {{type: int, default: 100}}
      noise: {{type: float, default: 0.1}}
      model_name: {{type: str, default: "LinearRegressionDemo"}}
    command: "python train.py --n_samples {{n_samples}} --noise {{noise}} --model_name {{model_name}}"
"""


def write(path, content: str) -> str:
    path = str(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(textwrap.dedent(content).lstrip("\n"))
    return path


def make_project(
    directory, train: str = TRAIN_LABKEEP, env: str = "", files: dict[str, str] | None = None
) -> str:
    directory = str(directory)
    write(os.path.join(directory, "MLproject"), MLPROJECT_MAIN.format(env=env))
    write(os.path.join(directory, "train.py"), train)
    for name, content in (files or {}).items():
        write(os.path.join(directory, name), content)
    return directory


def git(cwd, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    out = subprocess.run(["git", *args], cwd=str(cwd), env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def init_repo(directory) -> str:
    git(directory, "init", "-q", "-b", "main")
    git(directory, "add", "-A")
    git(directory, "commit", "-q", "-m", "first")
    return git(directory, "rev-parse", "HEAD")


def labkeep_run_argv(*args: str) -> list[str]:
    """``labkeep run ...`` through this interpreter (works whether or not the console script is on PATH)."""
    code = (
        "import sys\n"
        "try:\n"
        "    from labkeep.cli import main\n"
        "except ImportError:\n"
        "    from labkeep.cli.projects import run as main\n"
        "    sys.argv = sys.argv[:1] + sys.argv[2:]\n"
        "main()\n"
    )
    return [sys.executable, "-c", code, "run", *args]


def run_cli(
    *args: str, cwd, env_extra: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run(
        labkeep_run_argv(*args), cwd=str(cwd), env=env, capture_output=True, text=True, timeout=timeout
    )


def tracking_client(uri: str):
    """A labkeep client for the store or server at ``uri``."""
    from labkeep.client import Client

    return Client(uri)


def only_run(client, experiment: str):
    """The one run of ``experiment`` (fails when there is not exactly one)."""
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1, runs
    return runs[0]


# Entry points of the remote-backend test projects: `main` takes alpha, `fail` exits 3, `sleep` waits.
REMOTE_ENTRY_POINTS = """entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
    command: "python train.py {alpha}"
  fail:
    command: "python -c \\"import sys; print('failing now', flush=True); sys.exit(3)\\""
  sleep:
    command: "python -c \\"import time; print('sleeping', flush=True); time.sleep(600)\\""
"""
