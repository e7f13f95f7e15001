"""Server settings: what ``labkeep server`` was started with."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0")


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
            "LABKEEP_SERVER_AUTH": "1" if self.auth_enabled else "",
            "LABKEEP_SERVER_AUTH_DEFAULT_PERMISSION": self.auth_default_permission,
            "LABKEEP_SERVER_AUTH_TRUSTED_HEADER": self.auth_trusted_header or "",
            "LABKEEP_SERVER_AUTH_TRUSTED_PROXIES": ",".join(self.auth_trusted_proxies),
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
            auth_enabled=bool(env("LABKEEP_SERVER_AUTH")),
            auth_default_permission=env("LABKEEP_SERVER_AUTH_DEFAULT_PERMISSION") or "READ",
            auth_trusted_header=env("LABKEEP_SERVER_AUTH_TRUSTED_HEADER") or None,
            auth_trusted_proxies=items("LABKEEP_SERVER_AUTH_TRUSTED_PROXIES"),
        )
