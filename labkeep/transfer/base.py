"""The reader contract every source implements (MLflow folders, databases and servers, labkeep stores,
export folders). Readers yield the plain record dicts described in ``records.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from labkeep.transfer.records import Problem


class Source:
    """A store to read from. ``runs`` and friends yield records, or ``Problem`` for an item that
    cannot be read (the rest still comes across)."""

    description = "source"
    artifact_server: str | None = None  # where ``mlflow-artifacts:/`` URIs are served (a server URL)

    def experiments(self) -> list[dict[str, Any] | Problem]:
        raise NotImplementedError

    def count_runs(self, experiment_id: str) -> int:
        raise NotImplementedError

    def runs(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        raise NotImplementedError

    def logged_models(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        return iter(())

    def registered_models(self) -> Iterator[dict[str, Any] | Problem]:
        return iter(())

    def traces(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        return iter(())

    def artifact_repository(self, uri: str) -> Any:
        """The labkeep artifact repository that reads files under ``uri`` (None: cannot read)."""
        from labkeep.artifacts import get_artifact_repository

        if uri.startswith("mlflow-artifacts:") and not self.artifact_server:
            raise ValueError(
                f"{uri} is served by an MLflow server: give its URL with --artifacts-server,"
                " or import through the server (labkeep import mlflow http://…)"
            )
        return get_artifact_repository(uri, tracking_uri=self.artifact_server)

    def close(self) -> None:
        pass
