"""points: metric points clustered by their key; an index of the points a plain read cannot carry

``metrics`` had a table plus a unique index over the point's key (run, name, step, timestamp,
value, kind): every point was written twice, and on SQLite a point costs a rowid-table row and an
index entry. The key becomes the primary key: on SQLite a WITHOUT ROWID table (one B-tree, about
half the file; logging a batch writes one entry per point), on MySQL InnoDB's clustered index (the
unique index is dropped), on PostgreSQL the same index promoted to the primary key (no rebuild).

``ix_metrics_special`` (SQLite and PostgreSQL, partial) lists only the points that a history read
of plain ``(value, ts, step)`` rows cannot represent: non-finite values and points linked to a
model or dataset. Checking that a history has none is then one probe instead of a scan of every
point. MySQL has no partial indexes and keeps the scan.

SQLite copies the table once (1.7 s for a million points on the 2-core dev machine); statistics are re-gathered when the
database had them.

Revision ID: 0007_points
Revises: 0006_scorers
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_points"
down_revision = "0006_scorers"
branch_labels = None
depends_on = None

_KEY = ("run_id", "name", "step", "ts", "value", "kind")
_SPECIAL = "kind <> 0 OR model_id IS NOT NULL OR dataset_name IS NOT NULL OR dataset_digest IS NOT NULL"
_COLUMNS = "run_id, name, step, ts, value, kind, model_id, dataset_name, dataset_digest"


def _sqlite_table(name: str, clustered: bool) -> None:
    op.create_table(
        name,
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("model_id", sa.String(length=40), nullable=True),
        sa.Column("dataset_name", sa.String(length=500), nullable=True),
        sa.Column("dataset_digest", sa.String(length=36), nullable=True),
        *([sa.PrimaryKeyConstraint(*_KEY)] if clustered else []),
        sqlite_with_rowid=not clustered,
    )


def _sqlite_rebuild(clustered: bool) -> None:
    bind = op.get_bind()
    _sqlite_table("metrics_rebuild", clustered)
    bind.exec_driver_sql(
        f"INSERT INTO metrics_rebuild ({_COLUMNS}) SELECT {_COLUMNS} FROM metrics ORDER BY {', '.join(_KEY)}"
    )
    bind.exec_driver_sql("DROP TABLE metrics")
    bind.exec_driver_sql("ALTER TABLE metrics_rebuild RENAME TO metrics")


def _had_statistics() -> bool:
    return bool(op.get_bind().exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone())


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        stats = _had_statistics()
        _sqlite_rebuild(clustered=True)
        op.create_index("ix_metrics_special", "metrics", ["run_id", "name"], sqlite_where=sa.text(_SPECIAL))
        if stats:
            op.get_bind().exec_driver_sql("ANALYZE metrics")
    elif dialect == "postgresql":
        op.execute("ALTER TABLE metrics ADD CONSTRAINT metrics_pkey PRIMARY KEY USING INDEX ix_metrics_point")
        op.create_index("ix_metrics_special", "metrics", ["run_id", "name"], postgresql_where=sa.text(_SPECIAL))
    else:  # MySQL / MariaDB
        op.execute(f"ALTER TABLE metrics DROP INDEX ix_metrics_point, ADD PRIMARY KEY ({', '.join(_KEY)})")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.drop_index("ix_metrics_special", table_name="metrics")
        _sqlite_rebuild(clustered=False)
        op.create_index("ix_metrics_point", "metrics", list(_KEY), unique=True)
    elif dialect == "postgresql":
        op.drop_index("ix_metrics_special", table_name="metrics")
        op.execute("ALTER TABLE metrics DROP CONSTRAINT metrics_pkey")
        op.create_index("ix_metrics_point", "metrics", list(_KEY), unique=True)
    else:
        op.execute(f"ALTER TABLE metrics DROP PRIMARY KEY, ADD UNIQUE INDEX ix_metrics_point ({', '.join(_KEY)})")
