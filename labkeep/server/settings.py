"""Server settings: what ``labkeep server`` was started with."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0")
THREADS_ENV = "LABKEEP_SERVER_THREADS"
# One more than a SQL pool's default reach (5 + 10 overflow): every thread finds a connection
# or waits briefly for one, and a waiting store call never holds up the event loop.
DEFAULT_THREADS = 16


@dataclass
class ServerSettings:
    backend_store_uri: str = ""
    registry_store_uri: str | None = None
    # Where proxied artifacts are written (directory or s3://…); None disables the proxy.
    artifacts_destination: str | None = None
    # Root handed to the store for new experiments; with the proxy on: "mlflow-artifacts:/".
    default_artifact_root: str | None = None
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    static_prefix: str = ""
    allowed_hosts: list[str] = field(default_factory=list)
    cors_allowed_origins: list[str] = field(default_factory=list)
    # Worker threads per server process for store calls (JSON handlers, pages, artifact I/O).
    threads: int = DEFAULT_THREADS

    @property
    def serve_artifacts(self) -> bool:
        return bool(self.artifacts_destination)

    def resolved_default_artifact_root(self) -> str:
        if self.default_artifact_root:
            return self.default_artifact_root
        if self.serve_artifacts:
            return "mlflow-artifacts:/"
        return os.path.abspath("labkeep-artifacts")

    def to_env(self) -> dict[str, str]:
        """Settings as env vars, so uvicorn worker processes can rebuild them (``from_env``)."""
        return {
            "LABKEEP_SERVER_BACKEND_STORE_URI": self.backend_store_uri,
            "LABKEEP_SERVER_REGISTRY_STORE_URI": self.registry_store_uri or "",
            "LABKEEP_SERVER_ARTIFACTS_DESTINATION": self.artifacts_destination or "",
            "LABKEEP_SERVER_DEFAULT_ARTIFACT_ROOT": self.default_artifact_root or "",
            "LABKEEP_SERVER_HOST": self.host,
            "LABKEEP_SERVER_PORT": str(self.port),
            "LABKEEP_SERVER_STATIC_PREFIX": self.static_prefix,
            "LABKEEP_SERVER_ALLOWED_HOSTS": ",".join(self.allowed_hosts),
            "LABKEEP_SERVER_CORS_ALLOWED_ORIGINS": ",".join(self.cors_allowed_origins),
            THREADS_ENV: str(self.threads),
        }

    @classmethod
    def from_env(cls) -> ServerSettings:
        env = os.environ.get

        def items(name: str) -> list[str]:
            return [x.strip() for x in env(name, "").split(",") if x.strip()]

        return cls(
            backend_store_uri=env("LABKEEP_SERVER_BACKEND_STORE_URI", ""),
            registry_store_uri=env("LABKEEP_SERVER_REGISTRY_STORE_URI") or None,
            artifacts_destination=env("LABKEEP_SERVER_ARTIFACTS_DESTINATION") or None,
            default_artifact_root=env("LABKEEP_SERVER_DEFAULT_ARTIFACT_ROOT") or None,
            host=env("LABKEEP_SERVER_HOST", "127.0.0.1"),
            port=int(env("LABKEEP_SERVER_PORT", "5000")),
            static_prefix=env("LABKEEP_SERVER_STATIC_PREFIX", ""),
            allowed_hosts=items("LABKEEP_SERVER_ALLOWED_HOSTS"),
            cors_allowed_origins=items("LABKEEP_SERVER_CORS_ALLOWED_ORIGINS"),
            threads=parse_threads(env(THREADS_ENV) or str(DEFAULT_THREADS)),
        )


def parse_threads(value: str) -> int:
    """A thread-pool size from the command line or ``LABKEEP_SERVER_THREADS`` (1..1024)."""
    from labkeep.exceptions import InvalidParameterValue

    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= 1024:
        raise InvalidParameterValue(
            f"Invalid thread-pool size {value!r}: give a whole number from 1 to 1024 "
            f"(--threads or {THREADS_ENV})."
        )
    return n
