"""The kubernetes backend: rendering, schema validation, submission, log streaming, status mirroring
and cancel, through the official ``kubernetes`` client against a fake API server on loopback.

No Kubernetes cluster (and no container engine) can run here: see ``fake_kube.py`` for what the fake
does and why it still exercises the client's real request/response handling. The project's command
runs as a local process with exactly the Job's environment and logs to a real ``labkeep server``.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time

import kubernetes_validate
import pytest
import yaml

from tests.projects.fake_kube import SCHEMA_VERSION, FakeKube
from tests.projects.helpers import REMOTE_ENTRY_POINTS, only_run, run_cli, tracking_client, write

TEMPLATE = """
apiVersion: batch/v1
kind: Job
metadata:
  name: "{replaced with MLflow Project name}"
  namespace: ml-jobs
spec:
  ttlSecondsAfterFinished: 100
  backoffLimit: 0
  template:
    spec:
      containers:
      - name: "{replaced with MLflow Project name}"
        image: "{replaced with URI of Docker image created during Project execution}"
        command: ["{replaced with MLflow Project entry point command}"]
        env:
        - name: TEAM_SETTING
          value: "kept"
        resources:
          limits:
            memory: 512Mi
          requests:
            memory: 256Mi
      restartPolicy: Never
"""

MLPROJECT = "name: Kube Demo\ndocker_env:\n  image: python:3.11-slim\n" + REMOTE_ENTRY_POINTS

TRAIN = """
import os, sys
import labkeep as mlflow
alpha = float(sys.argv[1])
with mlflow.start_run():
    print("pod training alpha", alpha, "team", os.environ.get("TEAM_SETTING"), flush=True)
    print("token seen", os.environ.get("MLFLOW_TRACKING_TOKEN") == "s3cret-token", flush=True)
    mlflow.log_metric("from_pod", alpha)
"""

IMAGE = "registry.invalid/team/kube-demo:given"


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "proj" / "MLproject", MLPROJECT)
    write(tmp_path / "proj" / "train.py", TRAIN)
    return tmp_path / "proj"


@pytest.fixture
def template(tmp_path):
    return write(tmp_path / "job-template.yaml", TEMPLATE)


@pytest.fixture
def kube(project, tmp_path, monkeypatch):
    # The "kubelet" runs commands with this interpreter first on PATH, outside any labkeep env vars.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LABKEEP_"))}
    base["PATH"] = os.path.dirname(sys.executable) + os.pathsep + base.get("PATH", "")
    fake = FakeKube(str(project), env_base=base).start()
    monkeypatch.setenv("KUBECONFIG", fake.kubeconfig(str(tmp_path / "kubeconfig")))
    yield fake
    fake.stop()


def _config(template, **extra):
    return json.dumps({"kube-context": "fake-ctx", "kube-job-template-path": template, "repository-uri":
                       "registry.invalid/team/kube-demo", "image": IMAGE, **extra})  # fmt: skip


def _posted(fake, kind):
    return [body for method, path, body in fake.requests if method == "POST" and path.endswith(kind)]


def test_dry_run_prints_valid_manifests_and_records_nothing(project, template, tmp_path):
    store = f"sqlite:///{tmp_path}/dry.db"
    result = run_cli(
        ".", "--backend", "kubernetes", "--backend-config", _config(template, **{"tracking-uri": "http://tracking.invalid:5000"}),
        "-P", "alpha=0.9", "--tracking-uri", store, "--dry-run", cwd=project,
        env_extra={"MLFLOW_TRACKING_TOKEN": "s3cret-token"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "s3cret-token" not in result.stdout  # credentials are never printed
    secret, job = list(yaml.safe_load_all(result.stdout))
    for doc in (secret, job):
        kubernetes_validate.validate(doc, SCHEMA_VERSION, strict=True)
    assert secret["kind"] == "Secret" and secret["stringData"] == {"MLFLOW_TRACKING_TOKEN": "<redacted>"}
    assert job["metadata"]["namespace"] == "ml-jobs" and job["metadata"]["name"].startswith("kube-demo-")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == IMAGE and container["name"] == "kube-demo"
    assert container["command"] == ["python", "train.py", "0.9"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["TEAM_SETTING"] == "kept"  # the template's own variables stay
    assert env["MLFLOW_TRACKING_URI"] == "http://tracking.invalid:5000" and env["MLFLOW_RUN_ID"] == "<run-id>"
    assert "MLFLOW_TRACKING_TOKEN" not in env
    assert container["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    assert container["resources"]["limits"]["memory"] == "512Mi"
    assert not os.path.exists(tmp_path / "dry.db") or not tracking_client(store).search_experiments()[1:]


def test_job_runs_logs_to_server_and_finishes(project, template, kube, tracking_server):
    result = run_cli(
        ".", "--backend", "kubernetes", "--backend-config", _config(template), "-P", "alpha=0.3",
        "--experiment-name", "on-kube", "--tracking-uri", tracking_server, cwd=project,
        env_extra={"KUBECONFIG": os.environ["KUBECONFIG"], "MLFLOW_TRACKING_TOKEN": "s3cret-token"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    assert "pod training alpha 0.3 team kept" in result.stdout  # the pod's log, streamed
    assert "token seen True" in result.stdout  # the credential reached the pod through the Secret
    client = tracking_client(tracking_server)
    run = only_run(client, "on-kube")
    assert run.info.status == "FINISHED" and run.data.metrics == {"from_pod": 0.3}
    assert run.data.params == {"alpha": "0.3"}
    tags = run.data.tags
    assert tags["mlflow.project.backend"] == "kubernetes" and tags["mlflow.project.env"] == "docker"
    assert tags["mlflow.docker.image.uri"] == IMAGE and tags["labkeep.kubernetes.namespace"] == "ml-jobs"
    (job,) = _posted(kube, "/jobs")
    assert tags["labkeep.kubernetes.job"] == job["metadata"]["name"]
    assert "s3cret-token" not in json.dumps(job)  # never inline
    (secret,) = _posted(kube, "/secrets")
    assert secret["stringData"] == {"MLFLOW_TRACKING_TOKEN": "s3cret-token"}
    patched = [b for m, p, b in kube.requests if m == "PATCH"]
    assert patched[0]["metadata"]["ownerReferences"][0]["name"] == job["metadata"]["name"]
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MLFLOW_RUN_ID"] == run.info.run_id and env["MLFLOW_EXPERIMENT_ID"] == run.info.experiment_id
    text = open(client.download_artifacts(run.info.run_id, "project_output.txt"), encoding="utf-8").read()
    assert "pod training alpha 0.3" in text


def test_failed_job_mirrors_failed_and_exit_code(project, template, kube, tracking_server):
    result = run_cli(
        ".", "-e", "fail", "--backend", "kubernetes", "--backend-config", _config(template),
        "--experiment-name", "kube-fail", "--tracking-uri", tracking_server, cwd=project,
        env_extra={"KUBECONFIG": os.environ["KUBECONFIG"]},
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "failing now" in result.stdout and "backoff limit" in result.stderr
    run = only_run(tracking_client(tracking_server), "kube-fail")
    assert run.info.status == "FAILED" and run.data.tags["labkeep.project.exitCode"] == "3"
    (job,) = _posted(kube, "/jobs")
    # `sh -c` is used only when the command needs a shell; this one has quotes and parentheses.
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][:2] == ["/bin/sh", "-c"]


def test_cancel_deletes_the_job_and_marks_killed(project, template, kube, tracking_server):
    import labkeep.projects

    submitted = labkeep.projects.run(
        str(project), entry_point="sleep", backend="kubernetes", backend_config=_config(template),
        experiment_name="kube-cancel", tracking_uri=tracking_server, synchronous=False,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not any(b"sleeping" in r.output for r in kube.jobs.values()):
            assert time.monotonic() < deadline, "the pod never started"
            time.sleep(0.2)
        assert submitted.get_status() == "RUNNING"
    finally:
        submitted.cancel()
    assert submitted.get_status() == "KILLED" and submitted.exit_code == 143
    assert any(m == "DELETE" and "/jobs/" in p for m, p, _ in kube.requests)
    (run,) = kube.jobs.values()
    assert run.proc is not None and run.proc.poll() is not None  # the "pod" is gone
    assert tracking_client(tracking_server).get_run(submitted.run_id).info.status == "KILLED"


def test_api_refusal_is_a_clear_error_and_a_failed_run(project, template, kube, tracking_server):
    kube.refuse_jobs_with = (403, 'jobs.batch is forbidden: User "tester" cannot create resource "jobs"')
    result = run_cli(
        ".", "--backend", "kubernetes", "--backend-config", _config(template), "--experiment-name", "kube-403",
        "--tracking-uri", tracking_server, cwd=project, env_extra={"KUBECONFIG": os.environ["KUBECONFIG"]},
    )  # fmt: skip
    assert result.returncode == 1
    assert "Kubernetes refused to create Job" in result.stderr and "HTTP 403" in result.stderr
    assert "Traceback" not in result.stderr
    assert only_run(tracking_client(tracking_server), "kube-403").info.status == "FAILED"


@pytest.mark.parametrize(
    "config, message",
    [
        ({"repository-uri": "r"}, "needs 'kube-job-template-path'"),
        ({"kube-job-template-path": "/nonexistent.yaml", "repository-uri": "r"}, "does not exist"),
        ({"kube-job-template-path": "TEMPLATE"}, "'repository-uri'"),
        ({"kube-job-template-path": "TEMPLATE", "repository-uri": "r", "kube_context": "x"}, "Unknown kubernetes"),
    ],
)
def test_config_errors_before_anything_is_recorded(project, template, tmp_path, config, message):
    config = {k: (template if v == "TEMPLATE" else v) for k, v in config.items()}
    store = f"sqlite:///{tmp_path}/err.db"
    result = run_cli(".", "--backend", "kubernetes", "--backend-config", json.dumps(config),
                     "--tracking-uri", store, cwd=project)  # fmt: skip
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "err.db")


def test_invalid_rendered_job_is_refused_before_submission(project, tmp_path, kube, tracking_server):
    bad = write(tmp_path / "bad.yaml", TEMPLATE.replace("backoffLimit: 0", "backoffLimit: many"))
    result = run_cli(
        ".", "--backend", "kubernetes", "--backend-config", _config(bad), "--experiment-name", "kube-bad",
        "--tracking-uri", tracking_server, cwd=project, env_extra={"KUBECONFIG": os.environ["KUBECONFIG"]},
    )  # fmt: skip
    assert result.returncode == 1 and "not valid for Kubernetes" in result.stderr, result.stderr
    assert "backoffLimit" in result.stderr
    assert _posted(kube, "/jobs") == []


def test_database_store_needs_a_reachable_server(project, template, tmp_path, kube):
    result = run_cli(
        ".", "--backend", "kubernetes", "--backend-config", _config(template),
        "--tracking-uri", f"sqlite:///{tmp_path}/x.db", cwd=project,
        env_extra={"KUBECONFIG": os.environ["KUBECONFIG"]},
    )  # fmt: skip
    assert result.returncode == 1 and "--tracking-uri http://HOST:PORT" in result.stderr
    assert _posted(kube, "/jobs") == []


def test_image_is_built_and_pushed_when_none_is_given(project, template, tmp_path, kube, tracking_server):
    # No Docker engine runs here, so `docker` is a stand-in script that records its arguments and
    # answers `info`, `build`, `push` and `inspect` as the real client does.
    calls = tmp_path / "docker-calls.txt"
    docker = write(tmp_path / "bin" / "docker", f"""#!/bin/sh
echo "$@" >> {calls}
case "$1" in
  info) echo 28.2.2 ;;
  inspect) echo "registry.invalid/team/kube-demo@sha256:{'ab' * 32}" ;;
esac
""")  # fmt: skip
    os.chmod(docker, os.stat(docker).st_mode | stat.S_IEXEC)
    cfg = json.loads(_config(template))
    del cfg["image"]
    result = run_cli(
        ".", "--backend", "kubernetes", "--backend-config", json.dumps(cfg), "--experiment-name", "kube-build",
        "--tracking-uri", tracking_server, cwd=project,
        env_extra={"KUBECONFIG": os.environ["KUBECONFIG"], "LABKEEP_DOCKER_EXE": docker},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = calls.read_text().splitlines()
    assert lines[1].startswith("build -t registry.invalid/team/kube-demo:") and lines[1].endswith(str(project))
    assert lines[2].startswith("push registry.invalid/team/kube-demo:")
    (job,) = _posted(kube, "/jobs")
    image = job["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"registry.invalid/team/kube-demo@sha256:{'ab' * 32}"
    tags = only_run(tracking_client(tracking_server), "kube-build").data.tags
    assert tags["mlflow.docker.image.id"] == f"sha256:{'ab' * 32}"


def test_ctrl_c_deletes_the_job(project, template, kube, tracking_server):
    import signal
    import subprocess

    from tests.projects.helpers import labkeep_run_argv, only_run, tracking_client

    argv = labkeep_run_argv(
        ".", "-e", "sleep", "--backend", "kubernetes", "--backend-config", _config(template),
        "--experiment-name", "kube-ctrl-c", "--tracking-uri", tracking_server,
    )  # fmt: skip
    proc = subprocess.Popen(argv, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:  # the pod's log, streamed by `labkeep run`
            if "sleeping" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert any(m == "DELETE" and "/jobs/" in p for m, p, _ in kube.requests)
    assert only_run(tracking_client(tracking_server), "kube-ctrl-c").info.status == "KILLED"
