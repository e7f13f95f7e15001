"""search: run key/value tables clustered by (run_id, name) on SQLite; a covering metric walk

search_runs ordered by a metric walks ``latest_metrics(name, value)`` and probes, for every entry,
the run and each filtered metric/param of that run. On SQLite's rowid tables each probe is two
B-tree descents (the primary-key index, then the table by rowid), and the walk itself reads the
table for ``kind`` and ``run_id``. Rebuilt as WITHOUT ROWID tables, a probe by (run_id, name) is
one descent, and ``latest_metrics(name, value, kind)`` holds everything the walk reads (index
entries of a WITHOUT ROWID table carry its primary key). Loading a page of runs reads each run's
rows side by side, too. SQLite only: InnoDB already clusters by primary key, and PostgreSQL's
plan is a different one.

The rebuild copies the three tables once (about a minute per million runs); statistics are
re-gathered when the database had them.

Revision ID: 0005_search
Revises: 0004_compat
"""

from alembic import op

revision = "0005_search"
down_revision = "0004_compat"
branch_labels = None
depends_on = None

_TABLES = ("latest_metrics", "params", "tags")
_OLD_WALK = ("ix_latest_metrics_name_value", "CREATE INDEX ix_latest_metrics_name_value ON latest_metrics (name, value)")
_NEW_WALK = (
    "ix_latest_metrics_name_value_kind",
    "CREATE INDEX ix_latest_metrics_name_value_kind ON latest_metrics (name, value, kind)",
)


def _rebuild(table: str, without_rowid: bool) -> None:
    """Copy ``table`` into a new one with the same columns and indexes, with or without rowids."""
    bind = op.get_bind()
    (ddl,) = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).one()
    indexes = [
        row[0]
        for row in bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
        )
    ]
    body = ddl.rstrip()
    if body.upper().endswith("WITHOUT ROWID"):
        body = body[: -len("WITHOUT ROWID")].rstrip()
    head = body.index("(")  # the column list follows the table name (quoted or not)
    new_ddl = f"CREATE TABLE {table}_rebuild {body[head:]}" + (" WITHOUT ROWID" if without_rowid else "")
    bind.exec_driver_sql(new_ddl)
    bind.exec_driver_sql(f"INSERT INTO {table}_rebuild SELECT * FROM {table} ORDER BY run_id, name")
    bind.exec_driver_sql(f"DROP TABLE {table}")
    bind.exec_driver_sql(f"ALTER TABLE {table}_rebuild RENAME TO {table}")
    for sql in indexes:
        bind.exec_driver_sql(sql)


def _reanalyze(had_statistics: bool) -> None:
    if had_statistics:
        bind = op.get_bind()
        for table in _TABLES:  # in full: sampled statistics misjudge how selective a key name is
            bind.exec_driver_sql(f"ANALYZE {table}")


def _has_statistics() -> bool:
    return bool(op.get_bind().exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone())


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    bind = op.get_bind()
    stats = _has_statistics()
    bind.exec_driver_sql(f"DROP INDEX IF EXISTS {_OLD_WALK[0]}")  # dropped first: not rebuilt for nothing
    for table in _TABLES:
        _rebuild(table, without_rowid=True)
    bind.exec_driver_sql(_NEW_WALK[1])
    _reanalyze(stats)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    bind = op.get_bind()
    stats = _has_statistics()
    bind.exec_driver_sql(f"DROP INDEX IF EXISTS {_NEW_WALK[0]}")
    for table in _TABLES:
        _rebuild(table, without_rowid=False)
    bind.exec_driver_sql(_OLD_WALK[1])
    _reanalyze(stats)
