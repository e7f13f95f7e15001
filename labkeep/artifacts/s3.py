"""Artifacts in S3 or any S3-compatible store (``s3://bucket/prefix``). Needs ``labkeep[s3]`` (boto3).

Endpoint and credentials come from the usual variables: ``MLFLOW_S3_ENDPOINT_URL`` (or
``AWS_ENDPOINT_URL``), ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``;
``MLFLOW_S3_IGNORE_TLS=true`` skips certificate checks. Files above the part size
(``LABKEEP_S3_PART_SIZE`` or ``MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE``, default 8 MiB) are uploaded with
multipart upload.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from labkeep import config
from labkeep.artifacts.base import CHUNK, ArtifactRepository, Kind
from labkeep.artifacts.paths import safe_relative_path
from labkeep.entities import FileInfo
from labkeep.exceptions import InvalidParameterValue, LabkeepException, ResourceDoesNotExist

DEFAULT_PART_SIZE = 8 * 1024 * 1024
MIN_PART_SIZE = 5 * 1024 * 1024


def _boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise LabkeepException(
            "S3 artifact storage needs boto3: install it with `pip install 'labkeep[s3]'`.",
            error_code="INTERNAL_ERROR",
        ) from None
    return boto3


def part_size() -> int:
    raw = config.S3_PART_SIZE.get()
    try:
        return max(int(raw), MIN_PART_SIZE) if raw else DEFAULT_PART_SIZE
    except ValueError:
        return DEFAULT_PART_SIZE


def s3_client() -> Any:
    boto3 = _boto3()
    from botocore.config import Config

    endpoint = config.S3_ENDPOINT_URL.get()
    verify = not config.S3_IGNORE_TLS.flag()
    # A fresh session per client: credentials from the environment as it is now, and thread safety.
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        verify=verify,
        region_name=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1",
        config=Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"}),
    )


def parse_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise InvalidParameterValue(f"Not an S3 URI: {uri!r} (expected s3://bucket/prefix).")
    return parsed.netloc, parsed.path.strip("/")


class S3ArtifactRepository(ArtifactRepository):
    """Artifacts below ``s3://bucket/prefix``; the server's proxy hands out presigned multipart uploads."""

    supports_multipart = True

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None, client: Any = None) -> None:
        super().__init__(artifact_uri, tracking_uri)
        self.bucket, self.prefix = parse_s3_uri(artifact_uri)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client()
        return self._client

    def _key(self, rel: str) -> str:
        return "/".join(p for p in (self.prefix, rel) if p)

    def _transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        size = part_size()
        return TransferConfig(multipart_threshold=size, multipart_chunksize=size)

    # ---- ArtifactRepository
    def upload_file(self, local_file: str, artifact_file: str) -> None:
        rel = safe_relative_path(artifact_file)
        extra = {}
        import mimetypes

        ctype = mimetypes.guess_type(local_file)[0]
        if ctype:
            extra["ContentType"] = ctype
        self.client.upload_file(
            local_file, self.bucket, self._key(rel), ExtraArgs=extra or None, Config=self._transfer_config()
        )

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = safe_relative_path(path)
        prefix = self._key(rel)
        prefix = prefix + "/" if prefix else ""
        out: list[FileInfo] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
            for cp in page.get("CommonPrefixes", []):
                name = cp["Prefix"][len(prefix) :].rstrip("/")
                out.append(FileInfo(posixpath.join(rel, name) if rel else name, True))
            for obj in page.get("Contents", []):
                name = obj["Key"][len(prefix) :]
                if not name:
                    continue
                out.append(FileInfo(posixpath.join(rel, name) if rel else name, False, int(obj["Size"])))
        return sorted(out, key=lambda f: f.path)

    def _download_file(self, remote_path: str, local_path: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.download_file(
                self.bucket,
                self._key(safe_relative_path(remote_path)),
                local_path,
                Config=self._transfer_config(),
            )
        except ClientError as exc:
            if _is_not_found(exc):
                raise ResourceDoesNotExist(f"Artifact {remote_path!r} does not exist.") from None
            raise

    def delete_artifacts(self, artifact_path: str | None = None, missing_ok: bool = True) -> None:
        rel = safe_relative_path(artifact_path)
        key = self._key(rel)
        keys = []
        if self.kind(rel) == "file":
            keys.append(key)
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key + "/" if key else ""):
            keys += [o["Key"] for o in page.get("Contents", [])]
        if not keys:
            if missing_ok:
                return
            raise ResourceDoesNotExist(f"No artifact at {rel!r}.")
        # Some S3-compatible stores (SeaweedFS) keep directory markers; drop those of the deleted tree.
        markers = {key + "/"} if key else set()
        for k in keys:
            parts = k.split("/")[:-1]
            for i in range(len(key.split("/")) if key else 0, len(parts) + 1):
                if i:
                    markers.add("/".join(parts[:i]) + "/")
        keys += sorted(m for m in markers if m.startswith(key + "/" if key else ""))
        for i in range(0, len(keys), 1000):
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]], "Quiet": True},
            )

    # ---- presigned multipart upload (the proxy hands the part URLs to clients)
    def create_multipart_upload(
        self, path: str, num_parts: int, expiration: int = 3600
    ) -> tuple[str, list[dict]]:
        key = self._key(safe_relative_path(path))
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        credentials = []
        for part in range(1, num_parts + 1):
            url = self.client.generate_presigned_url(
                "upload_part",
                Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": part},
                ExpiresIn=expiration,
            )
            credentials.append({"url": url, "part_number": part, "headers": {}})
        return upload_id, credentials

    def complete_multipart_upload(self, path: str, upload_id: str, parts: list[dict]) -> None:
        key = self._key(safe_relative_path(path))
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": int(p["part_number"]), "ETag": p["etag"]} for p in parts]
            },
        )

    def abort_multipart_upload(self, path: str, upload_id: str) -> None:
        key = self._key(safe_relative_path(path))
        self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    # ---- what the server's artifact proxy uses
    def kind(self, path: str | None) -> Kind | None:
        rel = safe_relative_path(path)
        key = self._key(rel)
        if rel and self._head(key) is not None:
            return "file"
        resp = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key + "/" if key else "", MaxKeys=1)
        if resp.get("KeyCount", 0) > 0:
            return "dir"
        return "dir" if not rel else None

    def _head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_not_found(exc):
                return None
            raise

    def size(self, path: str) -> int:
        head = self._head(self._key(safe_relative_path(path)))
        if head is None:
            raise ResourceDoesNotExist(f"Artifact {path!r} does not exist.")
        return int(head["ContentLength"])

    def iter_bytes(self, path: str, chunk: int = CHUNK) -> Iterator[bytes]:
        obj = self.client.get_object(Bucket=self.bucket, Key=self._key(safe_relative_path(path)))
        body = obj["Body"]
        try:
            while data := body.read(chunk):
                yield data
        finally:
            body.close()


def _is_not_found(exc: Any) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")
