"""tracing: traces, trace tags/metadata, spans, assessments

Revision ID: 0002
Revises: 0001
"""

from typing import Any

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}


def _text() -> sa.Text:
    return sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql").with_variant(mysql.MEDIUMTEXT(), "mariadb")


def upgrade() -> None:
    op.create_table(
        "traces",
        sa.Column("trace_id", sa.String(length=50), nullable=False),
        sa.Column("experiment_id", sa.BigInteger(), nullable=False),
        sa.Column("request_time", sa.BigInteger(), nullable=False),
        sa.Column("execution_duration", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("request_preview", _text(), nullable=True),
        sa.Column("response_preview", _text(), nullable=True),
        sa.Column("client_request_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("trace_id"),
        **_MYSQL,
    )
    op.create_index("ix_traces_exp_time", "traces", ["experiment_id", "request_time"])
    for table in ("trace_tags", "trace_metadata"):
        op.create_table(
            table,
            sa.Column("trace_id", sa.String(length=50), nullable=False),
            sa.Column("name", sa.String(length=250), nullable=False),
            sa.Column("value", _text(), nullable=False),
            sa.PrimaryKeyConstraint("trace_id", "name"),
            **_MYSQL,
        )
    op.create_table(
        "trace_spans",
        sa.Column("trace_id", sa.String(length=50), nullable=False),
        sa.Column("span_id", sa.String(length=50), nullable=False),
        sa.Column("parent_span_id", sa.String(length=50), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("span_type", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=50), nullable=True),
        sa.Column("start_time_ns", sa.BigInteger(), nullable=False),
        sa.Column("end_time_ns", sa.BigInteger(), nullable=True),
        sa.Column("content", _text(), nullable=False),
        sa.PrimaryKeyConstraint("trace_id", "span_id"),
        **_MYSQL,
    )
    op.create_table(
        "trace_assessments",
        sa.Column("assessment_id", sa.String(length=50), nullable=False),
        sa.Column("trace_id", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.Column("content", _text(), nullable=False),
        sa.PrimaryKeyConstraint("assessment_id"),
        **_MYSQL,
    )
    op.create_index("ix_trace_assessments_trace", "trace_assessments", ["trace_id", "create_time"])


def downgrade() -> None:
    op.drop_index("ix_trace_assessments_trace", table_name="trace_assessments")
    op.drop_table("trace_assessments")
    op.drop_table("trace_spans")
    op.drop_table("trace_metadata")
    op.drop_table("trace_tags")
    op.drop_index("ix_traces_exp_time", table_name="traces")
    op.drop_table("traces")
