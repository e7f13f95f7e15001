"""HTTP plumbing shared by the REST stores and the HTTP artifact repository.

``RestClient`` keeps one keep-alive ``httpx.Client`` per host, adds auth headers, retries
connection errors and 408/429/5xx answers with exponential backoff (honouring ``Retry-After``), and
turns an error JSON body back into the labkeep exception the server raised.
"""

from __future__ import annotations

import base64
import json
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from labkeep import config
from labkeep.exceptions import CODE_BY_HTTP_STATUS, LabkeepException, exception_from_error
from labkeep.version import MLFLOW_COMPAT_VERSION, __version__

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass
class HostCreds:
    """Where the server is and how to authenticate (fields mirror mlflow's MlflowHostCreds)."""

    host: str
    username: str | None = None
    password: str | None = None
    token: str | None = None
    ignore_tls_verification: bool = False
    server_cert_path: str | None = None
    client_cert_path: str | None = None

    @classmethod
    def from_env(cls, host: str) -> HostCreds:
        return cls(
            host=host.rstrip("/"),
            username=config.TRACKING_USERNAME.get(),
            password=config.TRACKING_PASSWORD.get(),
            token=config.TRACKING_TOKEN.get(),
            ignore_tls_verification=config.TRACKING_INSECURE_TLS.flag(),
            server_cert_path=config.TRACKING_SERVER_CERT_PATH.get(),
            client_cert_path=config.TRACKING_CLIENT_CERT_PATH.get(),
        )

    def auth_headers(self) -> dict[str, str]:
        if self.username is not None and self.password is not None:
            raw = f"{self.username}:{self.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        return {}


@dataclass
class RetryPolicy:
    max_retries: int = 5
    backoff_factor: float = 0.5
    backoff_jitter: float = 0.2
    respect_retry_after: bool = True
    timeout: float = 120.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        return cls(
            max_retries=int(config.HTTP_REQUEST_MAX_RETRIES.number()),
            backoff_factor=config.HTTP_REQUEST_BACKOFF_FACTOR.number(),
            backoff_jitter=config.HTTP_REQUEST_BACKOFF_JITTER.number(),
            respect_retry_after=config.HTTP_RESPECT_RETRY_AFTER.flag(),
            timeout=config.HTTP_REQUEST_TIMEOUT.number(),
        )

    def delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and self.respect_retry_after:
            try:
                return min(max(float(retry_after), 0.0), 60.0)
            except ValueError:
                pass
        return self.backoff_factor * (2.0**attempt) + random.uniform(0, self.backoff_jitter)


def _make_client(creds: HostCreds, timeout: float) -> httpx.Client:
    verify: Any = True
    if creds.ignore_tls_verification:
        verify = False
    elif creds.server_cert_path:
        verify = creds.server_cert_path
    return httpx.Client(
        verify=verify,
        cert=creds.client_cert_path or None,
        timeout=timeout,
        limits=httpx.Limits(max_keepalive_connections=20, keepalive_expiry=30),
        headers={
            "User-Agent": f"labkeep-python-client/{__version__}",
            "X-MLflow-Client-Version": MLFLOW_COMPAT_VERSION,
        },
    )


def error_from_response(resp: httpx.Response) -> LabkeepException:
    """The exception an error answer stands for (JSON body, else derived from the status)."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error_code" in body:
        return exception_from_error(str(body["error_code"]), str(body.get("message", "")))
    code = CODE_BY_HTTP_STATUS.get(resp.status_code, "INTERNAL_ERROR")
    text = resp.text[:500] if resp.text else ""
    return exception_from_error(code, f"HTTP {resp.status_code} from {resp.request.url}: {text}")


class RestClient:
    """Calls ``<host><path>`` with auth, keep-alive and retries. ``client`` injects a transport."""

    def __init__(
        self,
        host_creds: HostCreds | str,
        client: httpx.Client | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.creds = HostCreds.from_env(host_creds) if isinstance(host_creds, str) else host_creds
        self.retry = retry or RetryPolicy.from_env()
        self._client = client
        self._owns_client = client is None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = _make_client(self.creds, self.retry.timeout)
        return self._client

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()
        self._client = None

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with retries; returns the final response (any status).

        ``content_factory=callable`` (instead of ``content``) rebuilds a streamed body per attempt.
        """
        url = self.creds.host + path
        headers = dict(self.creds.auth_headers())
        headers.update(kwargs.pop("headers", None) or {})
        # A streamed body can be sent once only: ``content_factory`` makes a fresh one per attempt.
        content_factory = kwargs.pop("content_factory", None)
        attempt = 0
        while True:
            if content_factory is not None:
                kwargs["content"] = content_factory()
            try:
                resp = self.client.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                # Every transport error is retried, read timeouts on writes included (as the mlflow
                # client does): metric points are idempotent, so a write applied twice stores once.
                if attempt >= self.retry.max_retries:
                    raise LabkeepException(
                        f"Could not reach the tracking server at {self.creds.host}: {exc}",
                        error_code="TEMPORARILY_UNAVAILABLE",
                    ) from exc
                time.sleep(self.retry.delay(attempt, None))
                attempt += 1
                continue
            if resp.status_code in RETRY_STATUSES and attempt < self.retry.max_retries:
                time.sleep(self.retry.delay(attempt, resp.headers.get("retry-after")))
                attempt += 1
                continue
            return resp

    def call(
        self, method: str, path: str, json_body: dict[str, Any] | None = None, params: Any = None
    ) -> dict[str, Any]:
        """A JSON API call: returns the decoded body or raises the server's error."""
        kwargs: dict[str, Any] = {}
        if method == "GET":
            kwargs["params"] = _query(params or {})
        else:
            kwargs["content"] = json.dumps(json_body or {}, allow_nan=False).encode()
            kwargs["headers"] = {"Content-Type": "application/json"}
        return json_answer(self.request(method, path, **kwargs), self.creds.host, path)


def json_answer(resp: httpx.Response, host: str, what: str) -> dict[str, Any]:
    """The decoded JSON object of a 200 answer (``{}`` when empty); the server's error otherwise."""
    if resp.status_code != 200:
        raise error_from_response(resp)
    if not resp.content:
        return {}
    try:
        answer: dict[str, Any] = resp.json()
        return answer
    except ValueError:
        raise LabkeepException(
            f"The server at {host} answered {what} with a non-JSON body.", error_code="INTERNAL_ERROR"
        ) from None


class RestStoreBase:
    """What the REST stores share: one ``RestClient`` for the server, its credentials, closing."""

    def __init__(self, host_creds: HostCreds | str, client: Any = None) -> None:
        self.rest = RestClient(host_creds, client=client)

    @property
    def host_creds(self) -> HostCreds:
        return self.rest.creds

    def close(self) -> None:
        self.rest.close()


def _query(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Query pairs: lists become repeated keys, bools true/false, None dropped."""
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        for v in value if isinstance(value, list | tuple) else [value]:
            out.append((key, ("true" if v else "false") if isinstance(v, bool) else str(v)))
    return out
