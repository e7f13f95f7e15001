"""compat GenAI: registered scorers (versioned per experiment and name)

Revision ID: 0006_scorers
Revises: 0005_search
"""

from typing import Any

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = "0006_scorers"
down_revision = "0005_search"
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}


def upgrade() -> None:
    op.create_table(
        "scorers",
        sa.Column("experiment_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("scorer_id", sa.String(length=40), nullable=False),
        sa.Column(
            "serialized_scorer",
            sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql").with_variant(mysql.MEDIUMTEXT(), "mariadb"),
            nullable=False,
        ),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("experiment_id", "name", "version"),
        **_MYSQL,
    )


def downgrade() -> None:
    op.drop_table("scorers")
