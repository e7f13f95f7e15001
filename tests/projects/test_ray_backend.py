"""The ray backend against a REAL local Ray head (one per module) and a real ``labkeep server``.

The project logs from the Ray job's driver and from a Ray task; the run, its metrics and its model
must land in the server. Failure, Ctrl-C and ``cancel()`` must be mirrored into the run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import httpx
import pytest

from tests.projects.helpers import (
    REMOTE_ENTRY_POINTS,
    labkeep_run_argv,
    only_run,
    run_cli,
    tracking_client,
    write,
)
from tests.projects.ray_head import ray_head

pytestmark = [pytest.mark.ray, pytest.mark.timeout(1200)]

TRAIN = """
import os, sys
import ray
import labkeep as mlflow
from labkeep.client import Client

@ray.remote
def worker_metric(step):
    # A Ray task: the job's runtime_env gives it the same tracking variables as the driver.
    Client().log_metric(os.environ["MLFLOW_RUN_ID"], "from_task", step * 10.0, step=step)
    return os.environ["MLFLOW_TRACKING_URI"]

alpha = float(sys.argv[1])
with mlflow.start_run() as run:
    print("training on ray alpha", alpha, flush=True)
    mlflow.log_metric("from_driver", alpha)
    uris = ray.get([worker_metric.remote(i) for i in range(2)])
    print("task tracking", uris[0] == os.environ["MLFLOW_TRACKING_URI"], flush=True)
    from sklearn.linear_model import LinearRegression
    import labkeep.sklearn
    model = LinearRegression().fit([[0.0], [1.0]], [0.0, alpha])
    info = labkeep.sklearn.log_model(model, name="model")
    print("MODEL_URI", info.model_uri, flush=True)
"""

MLPROJECT = "name: raydemo\n" + REMOTE_ENTRY_POINTS


_HEAD_FAILURE: list[BaseException] = []


@pytest.fixture(scope="module")
def ray_address():
    # pytest retries a failed module fixture for every test; one failed head start is enough.
    if _HEAD_FAILURE:
        if "raylet aborted" in str(_HEAD_FAILURE[0]) and os.environ.get("LABKEEP_RAY_TESTS_STRICT") != "1":
            pytest.skip(f"no local Ray head could start on this loaded machine: {_HEAD_FAILURE[0]}")
        raise RuntimeError(f"the Ray head for this module did not start: {_HEAD_FAILURE[0]}")
    try:
        head = ray_head()
        address = head.__enter__()
    except BaseException as exc:
        _HEAD_FAILURE.append(exc)
        if "raylet aborted" in str(exc) and os.environ.get("LABKEEP_RAY_TESTS_STRICT") != "1":
            # Ray's raylet gives the dashboard agent a hard-coded 15 s to report its ports (in its
            # binary, no setting changes it); on a saturated machine every start can hit that. This is
            # the one condition skipped, loudly; LABKEEP_RAY_TESTS_STRICT=1 turns it into a failure.
            pytest.skip(f"no local Ray head could start on this loaded machine: {exc}")
        raise
    try:
        yield address
    finally:
        head.__exit__(None, None, None)


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "proj" / "MLproject", MLPROJECT)
    write(tmp_path / "proj" / "train.py", TRAIN)
    return tmp_path / "proj"


def _job_status(address, submission_id):
    from ray.job_submission import JobSubmissionClient

    return str(JobSubmissionClient(address).get_job_status(submission_id).value)


def test_project_runs_as_ray_job_and_logs_from_driver_and_task(ray_address, project, tracking_server):
    cfg = json.dumps({"address": ray_address})
    result = run_cli(
        ".", "--backend", "ray", "--backend-config", cfg, "-P", "alpha=0.7",
        "--experiment-name", "on-ray", "--run-name", "r1", "--tracking-uri", tracking_server,
        cwd=project, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    assert "training on ray alpha 0.7" in result.stdout  # the job's log is streamed to us
    client = tracking_client(tracking_server)
    run = only_run(client, "on-ray")
    assert run.info.status == "FINISHED" and run.info.run_name == "r1"
    assert run.data.params == {"alpha": "0.7"}
    assert run.data.metrics["from_driver"] == 0.7
    history = client.get_metric_history(run.info.run_id, "from_task")
    # Logged by Ray tasks (a client retry after a slow answer may have stored a point twice).
    assert {(m.step, m.value) for m in history} == {(0, 0.0), (1, 10.0)}
    tags = run.data.tags
    assert tags["mlflow.project.backend"] == "ray" and tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["labkeep.ray.submissionId"] == f"labkeep-{run.info.run_id}"
    assert _job_status(ray_address, tags["labkeep.ray.submissionId"]) == "SUCCEEDED"
    assert "project_output.txt" in {f.path for f in client.list_artifacts(run.info.run_id)}
    model_uri = re.search(r"MODEL_URI (\S+)", result.stdout).group(1)
    import labkeep
    import labkeep.sklearn

    labkeep.set_tracking_uri(tracking_server)  # the model logged from the Ray job, read back from the server
    try:
        model = labkeep.sklearn.load_model(model_uri)
    finally:
        labkeep.set_tracking_uri(None)
    assert abs(float(model.predict([[1.0]])[0]) - 0.7) < 1e-9
    log = client.download_artifacts(run.info.run_id, "project_output.txt")
    text = open(log, encoding="utf-8").read()
    assert "training on ray alpha 0.7" in text and "task tracking True" in text


def test_failed_job_is_failed_with_exit_code_on_database_store(ray_address, project, tmp_path):
    # No server given: the store is a SQLite file, served on loopback for the job (the head is local).
    store = f"sqlite:///{tmp_path}/local.db"
    result = run_cli(
        ".", "-e", "fail", "--backend", "ray", "--backend-config", json.dumps({"address": ray_address}),
        "--experiment-name", "ray-fail", "--tracking-uri", store, cwd=project, timeout=600,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr + result.stdout
    assert "failing now" in result.stdout
    run = only_run(tracking_client(store), "ray-fail")
    assert run.info.status == "FAILED"
    assert run.data.tags["labkeep.project.exitCode"] == "3"
    assert _job_status(ray_address, f"labkeep-{run.info.run_id}") == "FAILED"


def _wait_for_log(client, experiment, needle, proc=None, timeout=300):
    """Wait until the job has printed ``needle`` (it is RUNNING on the cluster by then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        exp = client.get_experiment_by_name(experiment)
        runs = client.search_runs([exp.experiment_id]) if exp else []
        if runs and "labkeep.ray.submissionId" in runs[0].data.tags:
            from ray.job_submission import JobSubmissionClient

            jobs = JobSubmissionClient(runs[0].data.tags["labkeep.ray.address"])
            if needle in jobs.get_job_logs(runs[0].data.tags["labkeep.ray.submissionId"]):
                return runs[0]
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"labkeep run ended early: {proc.communicate()}")
        time.sleep(0.5)
    raise AssertionError(f"{needle!r} never appeared in the job's log")


def test_ctrl_c_stops_the_job_and_marks_the_run_killed(ray_address, project, tracking_server):
    argv = labkeep_run_argv(
        ".", "-e", "sleep", "--backend", "ray", "--backend-config", json.dumps({"address": ray_address}),
        "--experiment-name", "ray-ctrl-c", "--tracking-uri", tracking_server,
    )  # fmt: skip
    proc = subprocess.Popen(argv, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run = _wait_for_log(tracking_client(tracking_server), "ray-ctrl-c", "sleeping", proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert tracking_client(tracking_server).get_run(run.info.run_id).info.status == "KILLED"
    assert _job_status(ray_address, f"labkeep-{run.info.run_id}") == "STOPPED"


def test_python_api_cancel(ray_address, project, tracking_server):
    import labkeep.projects

    submitted = labkeep.projects.run(
        str(project), entry_point="sleep", backend="ray", backend_config={"address": ray_address},
        experiment_name="ray-cancel", tracking_uri=tracking_server, synchronous=False,
    )  # fmt: skip
    try:
        _wait_for_log(tracking_client(tracking_server), "ray-cancel", "sleeping")
        assert submitted.get_status() == "RUNNING"
    finally:
        submitted.cancel()
    assert submitted.get_status() == "KILLED" and not submitted.wait()
    assert tracking_client(tracking_server).get_run(submitted.run_id).info.status == "KILLED"
    assert httpx.get(f"{ray_address}/api/jobs/labkeep-{submitted.run_id}").json()["status"] == "STOPPED"
