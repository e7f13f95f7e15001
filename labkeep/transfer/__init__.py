"""Moving experiments between stores: MLflow file stores, MLflow databases and servers, labkeep
stores and portable export folders, through one engine (``engine.transfer``).

``open_mlflow_source`` and ``open_sink`` pick the reader and writer for a location; the CLI
commands ``labkeep import``, ``labkeep export`` and ``labkeep sync`` are thin layers over them.
"""

from __future__ import annotations

import os
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.transfer.base import Source
from labkeep.transfer.records import Problem, Summary

__all__ = ["Problem", "Source", "Summary", "open_mlflow_source", "open_sink", "transfer"]

_DB_SCHEMES = ("sqlite:", "postgresql", "postgres:", "mysql", "mariadb")


def transfer(source: Source, sink: Any, **kwargs: Any) -> Summary:
    """See ``labkeep.transfer.engine.transfer``."""
    from labkeep.transfer.engine import transfer as run

    return run(source, sink, **kwargs)


def open_mlflow_source(location: str) -> Source:
    """The reader for an MLflow file store folder, database URI or server URL."""
    if location.startswith(("http://", "https://")):
        from labkeep.transfer.store_source import StoreSource

        return StoreSource(location)
    if location.startswith(_DB_SCHEMES):
        return _mlflow_db(location)
    from labkeep.transfer.mlflow_files import MlflowFileStoreSource, is_file_store

    path = location[len("file://") :] if location.startswith("file://") else location
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.isfile(path):
        with open(path, "rb") as f:
            if f.read(16) == b"SQLite format 3\x00":
                return _mlflow_db(f"sqlite:///{path}")
        raise InvalidParameterValue(
            f"{location} is neither an MLflow file store folder nor an SQLite database."
        )
    if not os.path.exists(path):
        raise InvalidParameterValue(
            f"{location} does not exist; give an mlruns/ folder, a database URI or a server URL."
        )
    if not is_file_store(path):
        raise InvalidParameterValue(
            f"{location} is not an MLflow file store: no experiment folder with a meta.yaml (nor models/) in it."
        )
    return MlflowFileStoreSource(path)


def _mlflow_db(uri: str) -> Source:
    from labkeep.transfer.mlflow_db import MlflowDatabaseSource, NotAnMlflowDatabase

    try:
        return MlflowDatabaseSource(uri)
    except NotAnMlflowDatabase as exc:
        raise InvalidParameterValue(str(exc)) from None


def open_labkeep_source(location: str) -> Source:
    """The reader for a labkeep store URI, server URL or export folder."""
    from labkeep.transfer.export_dir import ExportDirSource, is_export_dir

    path = location[len("file://") :] if location.startswith("file://") else location
    if os.path.isdir(path) and is_export_dir(path):
        return ExportDirSource(path)
    from labkeep.config import normalize_store_uri
    from labkeep.transfer.store_source import StoreSource

    if location.startswith(("http://", "https://")):
        return StoreSource(location)
    return StoreSource(normalize_store_uri(location))


def open_sink(location: str, dry_run: bool = False, artifact_root: str | None = None) -> Any:
    """The writer for a labkeep store URI (or folder), a labkeep server URL, or an export folder."""
    from labkeep.config import normalize_store_uri

    if location.startswith(("http://", "https://")):
        from labkeep.transfer.rest_sink import RestSink

        return RestSink(location, dry_run=dry_run)
    if location.startswith("export:"):
        from labkeep.transfer.export_dir import ExportDirSink

        return ExportDirSink(location[len("export:") :], dry_run=dry_run)
    from labkeep.transfer.sql_sink import SqlSink

    uri = normalize_store_uri(location)
    if uri.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(uri[len("sqlite:///") :].split("?", 1)[0]) or ".", exist_ok=True)
    return SqlSink(uri, artifact_root=artifact_root, dry_run=dry_run)
