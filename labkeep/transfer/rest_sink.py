"""Sink into a labkeep server: each record is one ``/api/2.0/labkeep/transfer/apply`` request.

The server keeps ids and decides artifact locations; artifacts then go up through its artifact
proxy. Credentials come from the environment like every other client call.
"""

from __future__ import annotations

from typing import Any

from labkeep.transfer.wire import encode_record

ENDPOINT = "/api/2.0/labkeep/transfer/apply"


class RestSink:
    """Writes records into the labkeep server at ``url``."""

    def __init__(self, url: str, dry_run: bool = False) -> None:
        from labkeep.stores.rest.http import HostCreds, RestClient

        self.url = url.rstrip("/")
        self.rest = RestClient(HostCreds.from_env(self.url))
        self.dry_run = dry_run
        self.artifact_server = self.url
        self.description = f"labkeep server {self.url}"

    def close(self) -> None:
        self.rest.close()

    def _apply(self, kind: str, rec: dict[str, Any], **extra: Any) -> dict[str, Any]:
        body = {"kind": kind, "record": encode_record(kind, rec), "dry_run": self.dry_run, **extra}
        return self.rest.call("POST", ENDPOINT, json_body=body)

    def experiment(self, rec: dict[str, Any], keep_location: bool) -> tuple[str, str, bool]:
        out = self._apply("experiment", rec)
        return out["experiment_id"], out["artifact_location"], bool(out.get("changed"))

    def run(
        self, rec: dict[str, Any], exp_id: str, artifact_uri: str, model_points: dict | None = None
    ) -> str:
        points = [[k[0], k[1], k[2], *v] for k, v in (model_points or {}).items()]
        return self._apply("run", rec, experiment_id=exp_id, model_points=points)["status"]

    def logged_model(self, rec: dict[str, Any], exp_id: str, artifact_location: str) -> str:
        return self._apply("logged_model", rec, experiment_id=exp_id)["status"]

    def trace(self, rec: dict[str, Any], exp_id: str) -> str:
        return self._apply("trace", rec, experiment_id=exp_id)["status"]

    def registered_model(self, rec: dict[str, Any], prefixes: dict[str, str]) -> str:
        from labkeep.transfer.sql_registry import rewrite_location

        versions = [
            dict(
                v,
                source=rewrite_location(v.get("source"), prefixes),
                storage_location=rewrite_location(v.get("storage_location"), prefixes),
            )
            for v in rec["versions"]
        ]
        return self._apply("registered_model", dict(rec, versions=versions))["status"]
