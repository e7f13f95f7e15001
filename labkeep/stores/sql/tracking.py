"""The SQL tracking store: experiments, runs, metrics, params, tags, inputs and logged models.

One store for SQLite (embedded default), PostgreSQL and MySQL/MariaDB, assembled from one part
per concept (``experiments``, ``runs``, ``metrics``, ``logged_models``). Every write is one short
transaction; hot paths (``log_metric``, ``log_batch``, ``get_metric_history``) run a handful of
prepared statements with plain tuples.
"""

from __future__ import annotations

from labkeep.stores.base import TrackingStore
from labkeep.stores.sql.db import open_database
from labkeep.stores.sql.experiments import ExperimentsMixin
from labkeep.stores.sql.logged_models import LoggedModelsMixin
from labkeep.stores.sql.metrics import MetricsMixin
from labkeep.stores.sql.migrate import ensure_schema
from labkeep.stores.sql.tracking_core import RUN_NAME_TAG

__all__ = ["RUN_NAME_TAG", "SqlTrackingStore"]


class SqlTrackingStore(ExperimentsMixin, MetricsMixin, LoggedModelsMixin, TrackingStore):
    """Tracking store on a SQL database (``sqlite:///…``, ``postgresql://…``, ``mysql+pymysql://…``)."""

    def __init__(self, store_uri: str, default_artifact_root: str) -> None:
        self.store_uri = store_uri
        self.default_artifact_root = default_artifact_root.rstrip("/")
        self.db = open_database(store_uri)
        ensure_schema(self.db)
        self._create_default_experiment()  # also when another store migrated this database

    def close(self) -> None:
        self.db.close()
