"""Server settings: what ``labkeep server`` was started with."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0")
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
    # Authentication (``--app-name basic-auth`` / ``--auth``)
    auth_enabled: bool = False
    auth_default_permission: str = "READ"
    auth_trusted_header: str | None = None
    auth_trusted_proxies: list[str] = field(default_factory=list)

    @property
    def bound_local(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1")

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
        """The settings as one environment variable, for uvicorn's worker processes (``from_env``)."""
        from labkeep import config

        return {config.SERVER_SETTINGS.name: json.dumps(asdict(self))}

    @classmethod
    def from_env(cls) -> ServerSettings:
        from labkeep import config

        raw = config.SERVER_SETTINGS.get()
        return cls(**json.loads(raw)) if raw else cls()


def parse_threads(value: str) -> int:
    """A thread-pool size from ``--threads`` or ``LABKEEP_SERVER_THREADS`` (1..1024)."""
    from labkeep.exceptions import InvalidParameterValue

    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= 1024:
        raise InvalidParameterValue(
            f"Invalid thread-pool size {value!r}: give a whole number from 1 to 1024 (--threads or LABKEEP_SERVER_THREADS)."
        )
    return n
