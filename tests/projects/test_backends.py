"""Backend selection and ``--backend-config`` handling, and the Ray submission as ``--dry-run`` prints it.

No cluster is needed here: these are the checks made before anything is submitted.
"""

from __future__ import annotations

import json
import socket

import pytest

import labkeep.projects
from labkeep.projects.backends import load_backend_config
from labkeep.projects.errors import ProjectError
from tests.projects.helpers import run_cli, write

MLPROJECT = """
name: envdemo
python_env: python_env.yaml
entry_points:
  main:
    parameters:
      n: {type: int, default: 2}
    command: "python train.py --n {n}"
"""


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "proj" / "MLproject", MLPROJECT)
    write(tmp_path / "proj" / "python_env.yaml", "python: '3.11'\nbuild_dependencies: [pip]\ndependencies:\n  - numpy>=1.24\n  - -r requirements.txt\n")
    write(tmp_path / "proj" / "requirements.txt", "# pinned\nscikit-learn>=1.3\n")
    write(tmp_path / "proj" / "train.py", "print('hi')\n")
    return tmp_path / "proj"


def test_backend_config_forms(tmp_path):
    assert load_backend_config('{"address": "http://h:8265"}') == {"address": "http://h:8265"}
    assert load_backend_config({"a": 1}) == {"a": 1} and load_backend_config(None) == {}
    path = write(tmp_path / "cfg.yaml", "address: http://h:8265\nentrypoint_num_cpus: 1\n")
    assert load_backend_config(path) == {"address": "http://h:8265", "entrypoint_num_cpus": 1}
    for bad, message in [
        ("{not json", "not valid JSON"),
        ("missing.json", "neither a JSON object nor an existing file"),
        (write(tmp_path / "list.json", "[1, 2]"), "must be a JSON object"),
    ]:
        with pytest.raises(ProjectError, match=message):
            load_backend_config(bad)


def test_unknown_backend_is_refused_before_anything_runs(project, tmp_path):
    with pytest.raises(ProjectError, match="Unknown backend 'slurm'; use one of local, ray, kubernetes"):
        labkeep.projects.run(str(project), backend="slurm", tracking_uri=f"sqlite:///{tmp_path}/x.db")
    result = run_cli(".", "--backend", "slurm", cwd=project)
    assert result.returncode == 2 and "'slurm' is not one of" in result.stderr


def test_ray_dry_run_shows_the_job_with_the_project_environment(project, tmp_path):
    store = f"sqlite:///{tmp_path}/dry.db"
    result = run_cli(
        ".", "--backend", "ray", "--backend-config", json.dumps({"address": "http://127.0.0.1:8265",
        "entrypoint_num_cpus": 1, "runtime_env": {"env_vars": {"TEAM": "a"}}}),
        "-P", "n=5", "--tracking-uri", store, "--dry-run", cwd=project,
        env_extra={"MLFLOW_TRACKING_PASSWORD": "pw-123"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)
    assert job["entrypoint"] == "python train.py --n 5" and job["entrypoint_num_cpus"] == 1
    env = job["runtime_env"]
    assert env["pip"] == ["pip", "numpy>=1.24", "scikit-learn>=1.3"]
    assert env["working_dir"].endswith("proj") and env["excludes"] == [".git"]
    assert env["env_vars"]["TEAM"] == "a" and env["env_vars"]["MLFLOW_RUN_ID"] == "<run-id>"
    assert env["env_vars"]["MLFLOW_TRACKING_PASSWORD"] != "pw-123" and "pw-123" not in result.stdout
    assert "temporary loopback server" in env["env_vars"]["MLFLOW_TRACKING_URI"]


def test_ray_on_another_machine_needs_a_reachable_server(project, tmp_path):
    result = run_cli(
        ".", "--backend", "ray", "--backend-config", '{"address": "http://ray-head.invalid:8265"}',
        "--tracking-uri", f"sqlite:///{tmp_path}/x.db", "--dry-run", cwd=project,
    )  # fmt: skip
    assert result.returncode == 1 and "--tracking-uri http://HOST:PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_ray_config_errors(project, tmp_path):
    store = f"sqlite:///{tmp_path}/x.db"
    for cfg, message in [
        ({"adress": "http://h:8265"}, "Unknown ray backend config key(s) 'adress'; known keys: address"),
        ({"entrypoint_num_cpus": "two"}, "must be a non-negative number"),
        ({"runtime_env": ["pip"]}, "'runtime_env' must be a JSON object"),
    ]:
        result = run_cli(".", "--backend", "ray", "--backend-config", json.dumps(cfg), "--tracking-uri", store, cwd=project)
        assert result.returncode == 1 and message in result.stderr, result.stderr


def test_unreachable_ray_cluster_fails_the_run_with_a_clear_error(project, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = f"sqlite:///{tmp_path}/x.db"
    result = run_cli(
        ".", "--backend", "ray", "--backend-config", json.dumps({"address": f"http://127.0.0.1:{port}"}),
        "--env-manager", "local", "--experiment-name", "nowhere", "--tracking-uri", store, cwd=project,
    )  # fmt: skip
    assert result.returncode == 1 and "Could not reach the Ray cluster's job API" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    from labkeep.client import Client

    client = Client(store)
    (run,) = client.search_runs([client.get_experiment_by_name("nowhere").experiment_id])
    assert run.info.status == "FAILED" and run.data.tags["mlflow.project.backend"] == "ray"
