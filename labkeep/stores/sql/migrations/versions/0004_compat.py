"""compat GenAI: the issues API and evaluation datasets

Revision ID: 0004_compat
Revises: 0003_auth
"""

from typing import Any

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = "0004_compat"
down_revision = "0003_auth"
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}


def _long_text() -> sa.Text:
    return sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql").with_variant(mysql.MEDIUMTEXT(), "mariadb")


def upgrade() -> None:
    op.create_table(
        "issues",
        sa.Column("issue_id", sa.String(length=40), nullable=False),
        sa.Column("experiment_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger(), nullable=False),
        sa.Column(
            "content",
            sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql").with_variant(mysql.MEDIUMTEXT(), "mariadb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("issue_id"),
        **_MYSQL,
    )
    op.create_index("ix_issues_exp_created", "issues", ["experiment_id", "created_timestamp"])
    op.create_table(
        "eval_datasets",
        sa.Column("dataset_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.Column("content", _long_text(), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id"),
        **_MYSQL,
    )
    op.create_table(
        "eval_dataset_experiments",
        sa.Column("dataset_id", sa.String(length=40), nullable=False),
        sa.Column("experiment_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "experiment_id"),
        **_MYSQL,
    )
    op.create_table(
        "eval_dataset_records",
        sa.Column("dataset_id", sa.String(length=40), nullable=False),
        sa.Column("inputs_key", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=40), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("content", _long_text(), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "inputs_key"),
        **_MYSQL,
    )


def downgrade() -> None:
    for table in ("eval_dataset_records", "eval_dataset_experiments", "eval_datasets", "issues"):
        op.drop_table(table)
