"""End-to-end `labkeep run` tests: real subprocesses, the embedded SQLite store, real git repos."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import labkeep
from labkeep.projects.runner import EXIT_CODE_TAG, OUTPUT_ARTIFACT

from .helpers import git, init_repo, labkeep_run_argv, make_project, run_cli, write

TRAIN_MLFLOW = """
import json
import os
import mlflow
from mlflow import MlflowClient

print("MLFLOW_TRACKING_URI", os.environ["MLFLOW_TRACKING_URI"], flush=True)
with mlflow.start_run() as run:
    mlflow.log_param("library", "mlflow")
    mlflow.log_metric("rmse", 0.25, step=1)
    mlflow.log_text("from mlflow", "notes/readme.txt")
    MlflowClient().create_registered_model("demo-model-from-project")
"""

SLEEPER = """
import pathlib, sys, time
pathlib.Path(sys.argv[1]).write_text("started")
time.sleep(120)
"""


def _store_client(cwd):
    return labkeep.Client(f"sqlite:///{cwd}/labkeep.db")


def _only_run(client, experiment_name):
    exp = client.get_experiment_by_name(experiment_name)
    assert exp is not None
    runs = list(client.search_runs([exp.experiment_id]))
    assert len(runs) == 1
    return runs[0]


def _artifact_text(client, run_id, path):
    local = client.download_artifacts(run_id, path)
    with open(local, encoding="utf-8") as fh:
        return fh.read()


def test_labkeep_run_from_git_folder_records_params_metrics_artifacts_git_and_output(tmp_path):
    project = make_project(tmp_path / "proj")
    commit = init_repo(project)
    result = run_cli(".", "-P", "n_samples=200", "-P", "noise=0.2", "--experiment-name", "demo", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "training LinearRegressionDemo 200 0.2" in result.stdout  # streamed live to our stdout
    client = _store_client(project)
    run = _only_run(client, "demo")
    assert run.info.status == "FINISHED"
    assert run.data.params == {"n_samples": "200", "noise": "0.2", "model_name": "LinearRegressionDemo"}
    assert run.data.metrics == {"mse": 0.4}
    tags = run.data.tags
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.source.name"] == f"file://{os.path.realpath(project)}"
    assert tags["mlflow.source.git.commit"] == commit and tags["mlflow.source.git.branch"] == "main"
    assert tags["mlflow.project.entryPoint"] == "main" and tags["mlflow.project.backend"] == "local"
    assert "mlflow.project.env" not in tags  # local env manager
    assert tags["mlflow.user"]
    paths = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {"model", OUTPUT_ARTIFACT} <= paths
    assert "training LinearRegressionDemo 200 0.2" in _artifact_text(client, run.info.run_id, OUTPUT_ARTIFACT)


def test_plain_mlflow_project_lands_in_labkeep_through_temporary_server(tmp_path):
    project = make_project(tmp_path / "proj", train=TRAIN_MLFLOW)
    result = run_cli(".", "--env-manager", "local", "--experiment-name", "mlflow-code", cwd=project)
    assert result.returncode == 0, result.stderr + result.stdout
    # The real mlflow client was given the temporary server, never the database file.
    assert "MLFLOW_TRACKING_URI http://127.0.0.1:" in result.stdout
    client = _store_client(project)
    run = _only_run(client, "mlflow-code")
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"rmse": 0.25}
    assert run.data.params["library"] == "mlflow" and run.data.params["n_samples"] == "100"
    assert _artifact_text(client, run.info.run_id, "notes/readme.txt") == "from mlflow"
    assert client.get_registered_model("demo-model-from-project").name == "demo-model-from-project"


def test_failure_exit_code_propagates_and_run_failed(tmp_path):
    write(
        tmp_path / "proj/MLproject",
        "entry_points:\n  main:\n    parameters: {code: {type: int, default: 3}}\n"
        "    command: python -c \"import sys; print('bye'); print('oops', file=sys.stderr); sys.exit({code})\"\n",
    )
    result = run_cli(
        ".",
        "--experiment-name",
        "fails",
        cwd=tmp_path / "proj",
        env_extra={"LABKEEP_PROJECT_SERVER": "never"},
    )
    assert result.returncode == 3
    assert result.stdout.strip() == "bye" and "oops" in result.stderr  # streams kept apart
    client = _store_client(tmp_path / "proj")
    run = _only_run(client, "fails")
    assert run.info.status == "FAILED" and run.data.tags[EXIT_CODE_TAG] == "3"
    assert set(_artifact_text(client, run.info.run_id, OUTPUT_ARTIFACT).split()) == {"bye", "oops"}


def test_sigterm_is_forwarded_and_run_killed(tmp_path):
    marker = tmp_path / "started"
    write(tmp_path / "proj/sleeper.py", SLEEPER)
    write(tmp_path / "proj/MLproject", f"entry_points:\n  main:\n    command: python sleeper.py {marker}\n")
    env = dict(os.environ, LABKEEP_PROJECT_SERVER="never")
    proc = subprocess.Popen(
        labkeep_run_argv(".", "--experiment-name", "k"),
        cwd=tmp_path / "proj",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    run = _only_run(_store_client(tmp_path / "proj"), "k")
    assert run.info.status == "KILLED" and run.data.tags[EXIT_CODE_TAG] == str(128 + signal.SIGTERM)


def test_uv_env_second_run_reuses_environment(tmp_path):
    project = make_project(
        tmp_path / "proj",
        train="import six, sys\nprint('six', six.__version__, sys.prefix)\n",
        env="python_env: python_env.yaml",
        files={"python_env.yaml": "python: '3.11'\ndependencies: [six]\n"},
    )
    first = run_cli(".", "--experiment-name", "uv", cwd=project)
    assert first.returncode == 0, first.stderr
    second = run_cli(".", "--experiment-name", "uv", cwd=project)
    assert second.returncode == 0, second.stderr
    assert "building uv environment" not in second.stderr and "installing" not in second.stderr
    assert second.stdout.split()[1:] == first.stdout.split()[1:]  # same env prefix
    client = _store_client(project)
    exp = client.get_experiment_by_name("uv")
    runs = list(client.search_runs([exp.experiment_id]))
    assert len(runs) == 2 and {r.data.tags["mlflow.project.env"] for r in runs} == {"uv"}


def test_git_url_with_subdir_and_version(tmp_path):
    repo = tmp_path / "repo"
    make_project(repo / "sub", train="print('v1')\n")
    init_repo(repo)
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo / "sub/train.py", "print('v2')\n")
    git(repo, "commit", "-qam", "v2")
    feature_commit = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    workdir = tmp_path / "work"
    workdir.mkdir()
    uri = f"file://{repo}#sub"
    result = run_cli(
        uri,
        "--version",
        "feature",
        "--experiment-name",
        "git",
        cwd=workdir,
        env_extra={"LABKEEP_PROJECT_SERVER": "never"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "v2"
    run = _only_run(_store_client(workdir), "git")
    tags = run.data.tags
    assert tags["mlflow.source.name"] == uri and tags["mlflow.source.git.commit"] == feature_commit
    assert (
        tags["mlflow.source.git.branch"] == "feature"
        and tags["mlflow.source.git.repoURL"] == f"file://{repo}"
    )


@pytest.mark.parametrize(
    "mlproject, args, fragment",
    [
        ("python_env: a.yaml\nconda_env: b.yaml\n", [], "environments"),
        (
            "entry_points:\n  main:\n    parameters: {n: int}\n    command: python t.py {n}\n",
            [],
            "missing required parameter",
        ),
        (
            "entry_points:\n  main:\n    parameters: {n: int}\n    command: python t.py {n}\n",
            ["-P", "n=abc"],
            "must be int",
        ),
        ("entry_points:\n  main:\n    command: python t.py {oops}\n", [], "{oops}"),
    ],
)
def test_bad_projects_fail_with_one_line_and_no_run(tmp_path, mlproject, args, fragment):
    write(tmp_path / "proj/a.yaml", "python: '3.11'\n")
    write(tmp_path / "proj/b.yaml", "dependencies: [python=3.11]\n")
    write(tmp_path / "proj/MLproject", mlproject)
    result = run_cli(".", *args, cwd=tmp_path / "proj")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "proj/labkeep.db").exists() or not list(
        _store_client(tmp_path / "proj").search_runs(["0"])
    )


def test_python_api_async_submitted_run_and_cancel(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKEEP_PROJECT_SERVER", "never")
    marker = tmp_path / "started"
    write(tmp_path / "proj/sleeper.py", SLEEPER)
    write(
        tmp_path / "proj/MLproject",
        f'entry_points:\n  main:\n    command: python sleeper.py {marker}\n  quick:\n    command: python -c "print(42)"\n',
    )
    monkeypatch.chdir(tmp_path / "proj")
    from labkeep import projects

    quick = projects.run(".", entry_point="quick", experiment_name="api", env_manager="local")
    assert quick.get_status() == "FINISHED" and quick.wait() and quick.exit_code == 0

    submitted = projects.run(".", experiment_name="api", synchronous=False)
    assert submitted.get_status() == "RUNNING"
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    submitted.cancel()
    assert submitted.get_status() == "KILLED" and not submitted.wait()
    client = labkeep.Client(f"sqlite:///{tmp_path}/proj/labkeep.db")
    assert client.get_run(submitted.run_id).info.status == "KILLED"

    failing = tmp_path / "proj/fail.py"
    failing.write_text("import sys; sys.exit(5)\n")
    with pytest.raises(projects.ExecutionException, match="FAILED"):
        projects.run(".", entry_point="fail.py", experiment_name="api")


def test_no_wait_returns_run_id_at_once(tmp_path):
    write(
        tmp_path / "proj/MLproject",
        "entry_points:\n  main:\n    command: python -c \"import time; time.sleep(1); print('done')\"\n",
    )
    started = time.monotonic()
    result = run_cli(
        ".",
        "--no-wait",
        "--experiment-name",
        "bg",
        cwd=tmp_path / "proj",
        env_extra={"LABKEEP_PROJECT_SERVER": "never"},
    )
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip()
    assert len(run_id) == 32 and time.monotonic() - started < 5
    client = _store_client(tmp_path / "proj")
    deadline = time.monotonic() + 30
    while client.get_run(run_id).info.status == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.get_run(run_id).info.status == "FINISHED"
    assert "done" in _artifact_text(client, run_id, OUTPUT_ARTIFACT)


def test_against_a_labkeep_server(tmp_path, free_port):
    server_dir = tmp_path / "server"
    server_dir.mkdir()
    code = "import sys; from labkeep.cli import main; sys.argv[0] = 'labkeep'; main()"
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "server",
            "--port",
            str(free_port),
            "--backend-store-uri",
            f"sqlite:///{server_dir}/s.db",
            "--artifacts-destination",
            str(server_dir / "artifacts"),
        ],
        cwd=server_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{free_port}"
    try:
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        labkeep_project = make_project(tmp_path / "lk")
        mlflow_project = make_project(
            tmp_path / "mf", train=TRAIN_MLFLOW.replace("demo-model-from-project", "m2")
        )
        env = {"LABKEEP_TRACKING_URI": url}
        r1 = run_cli(
            ".", "-P", "noise=0.3", "--experiment-name", "remote", cwd=labkeep_project, env_extra=env
        )
        assert r1.returncode == 0, r1.stderr
        r2 = run_cli(
            ".", "--env-manager", "local", "--experiment-name", "remote", cwd=mlflow_project, env_extra=env
        )
        assert r2.returncode == 0, r2.stderr
        assert f"MLFLOW_TRACKING_URI {url}" in r2.stdout  # passed through, no second server
        client = labkeep.Client(url)
        exp = client.get_experiment_by_name("remote")
        runs = {r.data.params.get("library", "labkeep"): r for r in client.search_runs([exp.experiment_id])}
        assert runs["labkeep"].data.metrics == {"mse": 0.6} and runs["mlflow"].data.metrics == {"rmse": 0.25}
        assert all(r.info.status == "FINISHED" for r in runs.values())
        assert "training" in _artifact_text(client, runs["labkeep"].info.run_id, OUTPUT_ARTIFACT)
    finally:
        server.terminate()
        server.wait(15)


def test_database_store_served_to_mlflow_code_on_every_backend(tmp_path, db_uri):
    """sqlite, PostgreSQL and MySQL stores: the mlflow child logs through the temporary server,
    a labkeep child of the same project directly into the database."""
    project = Path(
        make_project(tmp_path / "proj", train=TRAIN_MLFLOW.replace("demo-model-from-project", "m3"))
    )
    env = {"LABKEEP_TRACKING_URI": db_uri, "LABKEEP_ARTIFACT_ROOT": str(tmp_path / "artifacts")}
    result = run_cli(".", "--env-manager", "local", "--experiment-name", "db", cwd=project, env_extra=env)
    assert result.returncode == 0, result.stderr
    assert "MLFLOW_TRACKING_URI http://127.0.0.1:" in result.stdout
    write(
        project / "lk.py",
        "import labkeep\nwith labkeep.start_run():\n    labkeep.log_metric('direct', 1.0)\n",
    )
    result = run_cli(
        ".",
        "-e",
        "lk.py",
        "--experiment-name",
        "db",
        cwd=project,
        env_extra={**env, "LABKEEP_PROJECT_SERVER": "never"},
    )
    assert result.returncode == 0, result.stderr
    client = labkeep.Client(db_uri)
    exp = client.get_experiment_by_name("db")
    runs = {r.data.tags["mlflow.project.entryPoint"]: r for r in client.search_runs([exp.experiment_id])}
    assert runs["main"].data.metrics == {"rmse": 0.25} and runs["lk.py"].data.metrics == {"direct": 1.0}
    assert all(r.info.status == "FINISHED" for r in runs.values())
    assert _artifact_text(client, runs["main"].info.run_id, "notes/readme.txt") == "from mlflow"


def test_environment_build_failure_fails_the_run_with_the_installer_error(tmp_path):
    write(
        tmp_path / "proj/MLproject",
        "python_env: python_env.yaml\nentry_points:\n  main:\n    command: python -c pass\n",
    )
    write(
        tmp_path / "proj/python_env.yaml",
        "python: '3.11'\ndependencies: [/nonexistent/labkeep-missing-pkg]\n",
    )
    cache = tmp_path / "cache"
    result = run_cli(
        ".", "--experiment-name", "broken", cwd=tmp_path / "proj", env_extra={"LABKEEP_ENV_CACHE": str(cache)}
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: installing requirements with uv failed") and "labkeep-missing-pkg" in last
    assert _only_run(_store_client(tmp_path / "proj"), "broken").info.status == "FAILED"
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []


FAKE_DOCKER = r"""#!{python}
# A FAKE docker client: no Docker engine can run on this machine. `info` answers like an engine;
# `run` records its argv and runs the container command on the host, mapping the working
# directory back through the -v mounts and applying the -e variables.
import json, os, subprocess, sys
args = sys.argv[1:]
if args[:1] == ["info"]:
    print("27.0.0"); sys.exit(0)
assert args[0] == "run", args
with open({record!r}, "w") as fh:
    json.dump(args, fh)
env, mounts, workdir, i = dict(os.environ), {{}}, None, 1
while args[i].startswith("-"):
    flag = args[i]
    if flag in ("--rm", "--privileged"):
        i += 1; continue
    value = args[i + 1]
    if flag == "-e":
        key, _, val = value.partition("="); env[key] = val
    elif flag == "-v":
        host, _, container = value.partition(":"); mounts[container] = host
    elif flag == "-w":
        workdir = value
    i += 2
command = args[i + 1:]  # after the image name
env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]  # "the image has python + mlflow"
sys.exit(subprocess.call(command, cwd=mounts.get(workdir, workdir), env=env))
"""


def test_docker_project_runs_through_the_docker_client(tmp_path):
    record = tmp_path / "docker-args.json"
    fake = tmp_path / "bin/docker"
    write(fake, FAKE_DOCKER.format(python=sys.executable, record=str(record)))
    fake.chmod(0o755)
    project = tmp_path / "proj"
    write(
        project / "MLproject",
        "docker_env:\n  image: python:3.11-slim\n  environment: [[MODE, fast]]\nentry_points:\n  main:\n    command: python train.py\n",
    )
    write(project / "train.py", TRAIN_MLFLOW.replace("demo-model-from-project", "m4"))
    result = run_cli(
        ".",
        "--experiment-name",
        "docker",
        "-A",
        "gpus=all",
        "-A",
        "privileged",
        cwd=project,
        env_extra={"LABKEEP_DOCKER_EXE": str(fake)},
    )
    assert result.returncode == 0, result.stderr + result.stdout
    argv = json.loads(record.read_text())
    assert argv[:4] == ["run", "--rm", "-w", "/mlflow/projects/code"]
    assert f"{project}:/mlflow/projects/code" in argv and argv[argv.index("--network") + 1] == "host"
    pairs = [argv[i + 1] for i, a in enumerate(argv) if a == "-e"]
    envs = {p.partition("=")[0]: p.partition("=")[2] for p in pairs}
    assert envs["MLFLOW_TRACKING_URI"].startswith("http://127.0.0.1:") and envs["MODE"] == "fast"
    assert envs["MLFLOW_RUN_ID"] == envs["LABKEEP_RUN_ID"]
    assert argv[-7:-2] == ["--gpus", "all", "--privileged", "python:3.11-slim", "sh"]
    run = _only_run(_store_client(project), "docker")
    assert run.info.status == "FINISHED" and run.data.metrics == {"rmse": 0.25}
    assert (
        run.data.tags["mlflow.project.env"] == "docker"
        and run.data.tags["mlflow.docker.image.uri"] == "python:3.11-slim"
    )


SLOW_UV = """#!/bin/sh
# A deliberately slow stand-in for uv (the real one is too quick to interrupt reliably):
# it starts the environment folder, says so, then hangs.
echo $$ > {pidfile}
for last; do :; done
mkdir -p "$last/bin"
exec sleep 120
"""


def test_sigterm_while_environment_builds_kills_run_and_leaves_nothing_ready(tmp_path):
    pidfile = tmp_path / "uv.pid"
    fake_uv = tmp_path / "bin/uv"
    write(fake_uv, SLOW_UV.format(pidfile=pidfile))
    fake_uv.chmod(0o755)
    write(
        tmp_path / "proj/MLproject",
        "python_env: python_env.yaml\nentry_points:\n  main:\n    command: python -c pass\n",
    )
    write(tmp_path / "proj/python_env.yaml", "python: '3.11'\ndependencies: [six]\n")
    cache = tmp_path / "cache"
    env = dict(os.environ, LABKEEP_UV=str(fake_uv), LABKEEP_ENV_CACHE=str(cache))
    proc = subprocess.Popen(
        labkeep_run_argv(".", "--experiment-name", "stop"),
        cwd=tmp_path / "proj",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    uv_pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(uv_pid, 0)  # the installer was stopped too
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []
    assert _only_run(_store_client(tmp_path / "proj"), "stop").info.status == "KILLED"


FAKE_CONDA_VENV = """#!/bin/sh
# A FAKE conda (conda's channels are unreachable here): it records its arguments and makes the
# requested prefix a plain virtual environment, so what labkeep adds afterwards is real.
echo "$@" > {record}
prefix=""; while [ $# -gt 0 ]; do [ "$1" = "--prefix" ] && prefix="$2"; shift; done
exec {uv} venv --quiet --python {python} "$prefix"
"""


def test_real_conda_path_gets_labkeep_when_the_code_imports_it(tmp_path):
    record = tmp_path / "conda-args.txt"
    fake = tmp_path / "bin/conda"
    uv = os.path.join(os.path.dirname(sys.executable), "uv")
    write(fake, FAKE_CONDA_VENV.format(record=record, uv=uv, python=sys.executable))
    fake.chmod(0o755)
    project = make_project(
        tmp_path / "proj", env="conda_env: conda.yaml", files={"conda.yaml": "dependencies: [python=3.11]\n"}
    )
    path = f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"
    result = run_cli(".", "--experiment-name", "conda", cwd=project, env_extra={"PATH": path}, timeout=600)
    assert result.returncode == 0, result.stderr
    assert record.read_text().startswith("env create --prefix ")
    assert "installing the running labkeep into the conda environment" in result.stderr
    run = _only_run(_store_client(project), "conda")
    assert run.info.status == "FINISHED" and run.data.metrics == {"mse": 0.2}
    assert run.data.tags["mlflow.project.env"] == "conda"
