"""The one SQL schema for SQLite, PostgreSQL and MySQL/MariaDB, as SQLAlchemy metadata.

Alembic migrations are written against this metadata; the stores query these tables with plain
SQL through ``db.Database``. Column names avoid words MySQL reserves (``key``), so queries need
no quoting. String columns that are compared in searches use a binary collation on MySQL so
``=`` and ``LIKE`` are case-sensitive everywhere, as the search grammar requires.

Metric values: SQLite cannot store NaN and MySQL cannot store NaN or infinities, so ``kind``
records what the value is (0 finite, 1 NaN, 2 +inf, 3 -inf) and ``value`` holds a sortable
stand-in (0 for NaN, +/- the largest double for infinities).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeEngine

from labkeep.stores.sql.metric_rows import METRIC_SPECIAL

metadata = MetaData()

_MYSQL_TABLE_ARGS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}


def _text(length: int | None = None) -> TypeEngine[str]:
    """Long text: TEXT on SQLite/PostgreSQL, MEDIUMTEXT on MySQL (TEXT stops at 64 KiB)."""
    return Text(length).with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def _name_value_indexes(table: str) -> tuple[Index, Index]:
    """(name, value) for key/value search; PostgreSQL's btree cannot hold 8000-char values."""
    return (
        Index(f"ix_{table}_name_value", "name", "value", mysql_length={"value": 255}).ddl_if(
            # SQLAlchemy documents a tuple of dialect names here but annotates the argument as str
            dialect=("sqlite", "mysql", "mariadb")  # type: ignore[arg-type]
        ),
        Index(f"ix_{table}_name", "name").ddl_if(dialect="postgresql"),
    )


def _double() -> TypeEngine[float]:
    return Float(precision=53).with_variant(mysql.DOUBLE(), "mysql", "mariadb")


# ---------------------------------------------------------------- tracking
experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(500), nullable=False, unique=True),
    Column("artifact_location", String(2048), nullable=False),
    Column("lifecycle_stage", String(20), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    **_MYSQL_TABLE_ARGS,
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column("experiment_id", BigInteger, nullable=False),
    Column("name", String(250), nullable=False),
    Column("value", _text(), nullable=False),
    PrimaryKeyConstraint("experiment_id", "name"),
    **_MYSQL_TABLE_ARGS,
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("experiment_id", BigInteger, nullable=False),
    Column("name", String(500), nullable=False),
    Column("user_id", String(256), nullable=False),
    Column("status", String(20), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("deleted_time", BigInteger, nullable=True),
    Column("artifact_uri", String(2048), nullable=False),
    Column("lifecycle_stage", String(20), nullable=False),
    Index("ix_runs_exp_stage_start", "experiment_id", "lifecycle_stage", "start_time"),
    Index("ix_runs_exp_stage_run", "experiment_id", "lifecycle_stage", "run_id").ddl_if(dialect="sqlite"),  # 0003_ui
    **_MYSQL_TABLE_ARGS,
)

params = Table(
    "params",
    metadata,
    Column("run_id", String(32), nullable=False),
    Column("name", String(250), nullable=False),
    Column("value", _text(), nullable=False),
    PrimaryKeyConstraint("run_id", "name"),
    *_name_value_indexes("params"),
    Index("ix_params_name_run", "name", "run_id", "value").ddl_if(dialect="sqlite"),  # 0003_ui
    sqlite_with_rowid=False,  # 0005_search: a probe by (run_id, name) is one B-tree descent
    **_MYSQL_TABLE_ARGS,
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", String(32), nullable=False),
    Column("name", String(250), nullable=False),
    Column("value", _text(), nullable=False),
    PrimaryKeyConstraint("run_id", "name"),
    *_name_value_indexes("tags"),
    Index("ix_tags_name_run", "name", "run_id", "value").ddl_if(dialect="sqlite"),  # 0003_ui
    sqlite_with_rowid=False,  # 0005_search: a probe by (run_id, name) is one B-tree descent
    **_MYSQL_TABLE_ARGS,
)

# Every logged point, each identical (run, key, step, timestamp, value) stored once (as mlflow's
# primary key does): repeats from retries and log_model's metric linking are ignored. The table is
# clustered by that key (0007_points), which also serves history reads in order.
metrics = Table(
    "metrics",
    metadata,
    Column("run_id", String(32), nullable=False),
    Column("name", String(250), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("value", _double(), nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("model_id", String(40), nullable=True),
    Column("dataset_name", String(500), nullable=True),
    Column("dataset_digest", String(36), nullable=True),
    PrimaryKeyConstraint("run_id", "name", "step", "ts", "value", "kind"),
    # the points a plain (value, ts, step) history read cannot carry; MySQL has no partial indexes
    Index(
        "ix_metrics_special",
        "run_id",
        "name",
        sqlite_where=text(METRIC_SPECIAL),
        postgresql_where=text(METRIC_SPECIAL),
    ).ddl_if(dialect=("sqlite", "postgresql")),  # type: ignore[arg-type]
    sqlite_with_rowid=False,  # 0007_points
    **_MYSQL_TABLE_ARGS,
)

# Points linked to logged models (a model's metrics; searching logged models by metric). A point
# linked to several models has one row per model; the run's history keeps it once in ``metrics``.
model_metrics = Table(
    "model_metrics",
    metadata,
    Column("model_id", String(40), nullable=False),
    Column("run_id", String(32), nullable=True),
    Column("name", String(250), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("value", _double(), nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("dataset_name", String(500), nullable=True),
    Column("dataset_digest", String(36), nullable=True),
    PrimaryKeyConstraint("model_id", "name", "step", "ts", "value", "kind"),
    **_MYSQL_TABLE_ARGS,
)

# The latest point per (run, metric): what search, sort and RunData use.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", String(32), nullable=False),
    Column("name", String(250), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("value", _double(), nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("model_id", String(40), nullable=True),
    Column("dataset_name", String(500), nullable=True),
    Column("dataset_digest", String(36), nullable=True),
    PrimaryKeyConstraint("run_id", "name"),
    Index("ix_latest_metrics_name_value", "name", "value").ddl_if(
        dialect=("postgresql", "mysql", "mariadb")  # type: ignore[arg-type]
    ),
    # 0005_search: on SQLite the metric walk of search_runs reads kind (and the primary key) here
    Index("ix_latest_metrics_name_value_kind", "name", "value", "kind").ddl_if(dialect="sqlite"),
    # grouping the runs table (0003_ui): each run's latest value read from the index alone
    # (partial, so searches by metric keep the (name, value) walk)
    Index(
        "ix_latest_metrics_name_run", "name", "run_id", "kind", "value", sqlite_where=text("kind = 0")
    ).ddl_if(dialect="sqlite"),
    sqlite_with_rowid=False,  # 0005_search
    **_MYSQL_TABLE_ARGS,
)

# Issues found in an experiment's traces (the issues API); the whole issue is kept as JSON.
issues = Table(
    "issues",
    metadata,
    Column("issue_id", String(40), primary_key=True),
    Column("experiment_id", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_timestamp", BigInteger, nullable=False),
    Column("last_updated_timestamp", BigInteger, nullable=False),
    Column("content", _text(), nullable=False),
    Index("ix_issues_exp_created", "experiment_id", "created_timestamp"),
    **_MYSQL_TABLE_ARGS,
)

# Registered scorers: every version of a scorer name in an experiment, serialized by the client.
scorers = Table(
    "scorers",
    metadata,
    Column("experiment_id", BigInteger, primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("scorer_id", String(40), nullable=False),
    Column("serialized_scorer", _text(), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    **_MYSQL_TABLE_ARGS,
)

# Evaluation datasets (GenAI): the dataset, its experiments, its records keyed by their inputs' hash.
eval_datasets = Table(
    "eval_datasets",
    metadata,
    Column("dataset_id", String(40), primary_key=True),
    Column("name", String(500), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    Column("content", _text(), nullable=False),
    **_MYSQL_TABLE_ARGS,
)
eval_dataset_experiments = Table(
    "eval_dataset_experiments",
    metadata,
    Column("dataset_id", String(40), nullable=False),
    Column("experiment_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("dataset_id", "experiment_id"),
    **_MYSQL_TABLE_ARGS,
)
eval_dataset_records = Table(
    "eval_dataset_records",
    metadata,
    Column("dataset_id", String(40), nullable=False),
    Column("inputs_key", String(64), nullable=False),
    Column("record_id", String(40), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("content", _text(), nullable=False),
    PrimaryKeyConstraint("dataset_id", "inputs_key"),
    **_MYSQL_TABLE_ARGS,
)

datasets = Table(
    "datasets",
    metadata,
    Column("dataset_id", String(36), primary_key=True),
    Column("experiment_id", BigInteger, nullable=False),
    Column("name", String(500), nullable=False),
    Column("digest", String(36), nullable=False),
    Column("source_type", String(36), nullable=False),
    Column("source", _text(), nullable=False),
    Column("schema", _text(), nullable=True),
    Column("profile", _text(), nullable=True),
    Index("ix_datasets_exp_name_digest", "experiment_id", "name", "digest", unique=True),
    **_MYSQL_TABLE_ARGS,
)

# A dataset used by a run; ``tags`` is a JSON object of input tags (e.g. mlflow.data.context).
run_inputs = Table(
    "run_inputs",
    metadata,
    Column("run_id", String(32), nullable=False),
    Column("dataset_id", String(36), nullable=False),
    Column("context", String(500), nullable=True),
    Column("tags", _text(), nullable=False),
    PrimaryKeyConstraint("run_id", "dataset_id"),
    Index("ix_run_inputs_dataset", "dataset_id"),
    **_MYSQL_TABLE_ARGS,
)

# Logged models a run read (direction 'input') or produced (direction 'output').
run_models = Table(
    "run_models",
    metadata,
    Column("run_id", String(32), nullable=False),
    Column("model_id", String(40), nullable=False),
    Column("direction", String(10), nullable=False),
    Column("step", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_id", "model_id", "direction"),
    **_MYSQL_TABLE_ARGS,
)

logged_models = Table(
    "logged_models",
    metadata,
    Column("model_id", String(40), primary_key=True),
    Column("experiment_id", BigInteger, nullable=False),
    Column("name", String(500), nullable=False),
    Column("artifact_location", String(2048), nullable=False),
    Column("creation_timestamp", BigInteger, nullable=False),
    Column("last_updated_timestamp", BigInteger, nullable=False),
    Column("status", Integer, nullable=False),
    Column("lifecycle_stage", String(20), nullable=False),
    Column("model_type", String(500), nullable=True),
    Column("source_run_id", String(32), nullable=True),
    Column("status_message", String(1000), nullable=True),
    Index("ix_logged_models_exp", "experiment_id", "creation_timestamp"),
    Index("ix_logged_models_run", "source_run_id"),
    **_MYSQL_TABLE_ARGS,
)

logged_model_params = Table(
    "logged_model_params",
    metadata,
    Column("model_id", String(40), nullable=False),
    Column("name", String(250), nullable=False),
    Column("value", _text(), nullable=False),
    PrimaryKeyConstraint("model_id", "name"),
    **_MYSQL_TABLE_ARGS,
)

logged_model_tags = Table(
    "logged_model_tags",
    metadata,
    Column("model_id", String(40), nullable=False),
    Column("name", String(250), nullable=False),
    Column("value", _text(), nullable=False),
    PrimaryKeyConstraint("model_id", "name"),
    **_MYSQL_TABLE_ARGS,
)

# ---------------------------------------------------------------- registry
# (owned by the registry store: labkeep/stores/sql/registry.py)
registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("description", _text(), nullable=True),
    Column("user_id", String(256), nullable=True),
    **_MYSQL_TABLE_ARGS,
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column("model_name", String(256), nullable=False),
    Column("name", String(250), nullable=False),
    Column("value", _text(), nullable=False),
    PrimaryKeyConstraint("model_name", "name"),
    **_MYSQL_TABLE_ARGS,
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("model_name", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("description", _text(), nullable=True),
    Column("user_id", String(256), nullable=True),
    Column("current_stage", String(50), nullable=False),
    Column("source", String(2048), nullable=False),
    Column("storage_location", String(2048), nullable=True),
    Column("run_id", String(32), nullable=True),
    Column("run_link", String(2048), nullable=True),
    Column("model_id", String(40), nullable=True),
    Column("status", String(30), nullable=False),
    Column("status_message", String(500), nullable=True),
    Column("deleted", SmallInteger, nullable=False, default=0),
    PrimaryKeyConstraint("model_name", "version"),
    Index("ix_model_versions_run", "run_id"),
    **_MYSQL_TABLE_ARGS,
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("model_name", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", String(250), nullable=False),
    Column("value", _text(), nullable=False),
    PrimaryKeyConstraint("model_name", "version", "name"),
    **_MYSQL_TABLE_ARGS,
)

registered_model_aliases = Table(
    "registered_model_aliases",
    metadata,
    Column("model_name", String(256), nullable=False),
    Column("alias", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("model_name", "alias"),
    **_MYSQL_TABLE_ARGS,
)

# Every stage transition and alias move: who, when, from, to, comment.
registry_events = Table(
    "registry_events",
    metadata,
    Column("event_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("model_name", String(256), nullable=False),
    Column("version", Integer, nullable=True),
    Column("kind", String(20), nullable=False),
    Column("subject", String(255), nullable=True),
    Column("from_value", String(255), nullable=True),
    Column("to_value", String(255), nullable=True),
    Column("user_id", String(256), nullable=True),
    Column("ts", BigInteger, nullable=False),
    Column("comment", _text(), nullable=True),
    Index("ix_registry_events_model", "model_name", "ts"),
    **_MYSQL_TABLE_ARGS,
)

# ---------------------------------------------------------------- tracing
# (owned by the GenAI tracing store: labkeep/stores/sql/traces.py; migration 0002_tracing)
traces = Table(
    "traces",
    metadata,
    Column("trace_id", String(50), primary_key=True),
    Column("experiment_id", BigInteger, nullable=False),
    Column("request_time", BigInteger, nullable=False),
    Column("execution_duration", BigInteger, nullable=True),
    Column("state", String(20), nullable=False),
    Column("request_preview", _text(), nullable=True),
    Column("response_preview", _text(), nullable=True),
    Column("client_request_id", String(250), nullable=True),
    Index("ix_traces_exp_time", "experiment_id", "request_time"),
    **_MYSQL_TABLE_ARGS,
)

trace_tags = Table(
    "trace_tags",
    metadata,
    Column("trace_id", String(50), nullable=False),
    Column("name", String(250), nullable=False),
    Column("value", _text(), nullable=False),
    PrimaryKeyConstraint("trace_id", "name"),
    **_MYSQL_TABLE_ARGS,
)

trace_metadata = Table(
    "trace_metadata",
    metadata,
    Column("trace_id", String(50), nullable=False),
    Column("name", String(250), nullable=False),
    Column("value", _text(), nullable=False),
    PrimaryKeyConstraint("trace_id", "name"),
    **_MYSQL_TABLE_ARGS,
)

# One row per span; ``content`` is the span as JSON (the traces.json span shape).
trace_spans = Table(
    "trace_spans",
    metadata,
    Column("trace_id", String(50), nullable=False),
    Column("span_id", String(50), nullable=False),
    Column("parent_span_id", String(50), nullable=True),
    Column("name", String(500), nullable=True),
    Column("span_type", String(500), nullable=True),
    Column("status", String(50), nullable=True),
    Column("start_time_ns", BigInteger, nullable=False),
    Column("end_time_ns", BigInteger, nullable=True),
    Column("content", _text(), nullable=False),
    PrimaryKeyConstraint("trace_id", "span_id"),
    **_MYSQL_TABLE_ARGS,
)

# Feedback and expectations on a trace; ``content`` is the assessment as JSON.
trace_assessments = Table(
    "trace_assessments",
    metadata,
    Column("assessment_id", String(50), primary_key=True),
    Column("trace_id", String(50), nullable=False),
    Column("name", String(250), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("content", _text(), nullable=False),
    Index("ix_trace_assessments_trace", "trace_id", "create_time"),
    **_MYSQL_TABLE_ARGS,
)
