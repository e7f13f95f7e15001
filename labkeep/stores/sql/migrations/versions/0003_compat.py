"""compat: metric points stored once; model links in their own table

Identical (run, key, step, timestamp, value) points are deduplicated and a unique index keeps
them unique; points linked to logged models move to ``model_metrics``.

Revision ID: 0003_compat
Revises: 0003_ui
"""

from typing import Any

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = "0003_compat"
down_revision = "0003_ui"
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}


def _double() -> sa.Float[float]:
    return (
        sa.Float(precision=53)
        .with_variant(mysql.DOUBLE(asdecimal=True), "mariadb")
        .with_variant(mysql.DOUBLE(asdecimal=True), "mysql")
    )


def _point_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", _double(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "model_metrics",
        sa.Column("model_id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        *_point_columns(),
        sa.Column("dataset_name", sa.String(length=500), nullable=True),
        sa.Column("dataset_digest", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("model_id", "name", "step", "ts", "value", "kind"),
        **_MYSQL,
    )
    op.execute(
        "INSERT INTO model_metrics (model_id, run_id, name, step, ts, value, kind, dataset_name, dataset_digest)"
        " SELECT model_id, MIN(run_id), name, step, ts, value, kind, MIN(dataset_name), MIN(dataset_digest)"
        " FROM metrics WHERE model_id IS NOT NULL GROUP BY model_id, name, step, ts, value, kind"
    )
    op.create_table(
        "metrics_dedup",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        *_point_columns(),
        sa.Column("model_id", sa.String(length=40), nullable=True),
        sa.Column("dataset_name", sa.String(length=500), nullable=True),
        sa.Column("dataset_digest", sa.String(length=36), nullable=True),
        **_MYSQL,
    )
    op.execute(
        "INSERT INTO metrics_dedup (run_id, name, step, ts, value, kind, model_id, dataset_name, dataset_digest)"
        " SELECT run_id, name, step, ts, value, kind, MIN(model_id), MIN(dataset_name), MIN(dataset_digest)"
        " FROM metrics GROUP BY run_id, name, step, ts, value, kind"
    )
    op.drop_table("metrics")
    op.rename_table("metrics_dedup", "metrics")
    op.create_index(
        "ix_metrics_point", "metrics", ["run_id", "name", "step", "ts", "value", "kind"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_metrics_point", table_name="metrics")
    op.create_index("ix_metrics_run_name_step", "metrics", ["run_id", "name", "step", "ts"])
    op.create_index(
        "ix_metrics_model",
        "metrics",
        ["model_id", "name", "step", "ts"],
        sqlite_where=sa.text("model_id IS NOT NULL"),
        postgresql_where=sa.text("model_id IS NOT NULL"),
    )
    op.drop_table("model_metrics")
