"""ui: covering indexes for grouping an experiment's runs by a param or tag in one statement

The runs table grouped by a param (count, mean/min/max of metric columns per value) visits every
run of the experiment once. Walking the runs in run_id order and finding each run's param value
and latest metric values in indexes that hold them (no table row reads) keeps each probe next to
the previous one: about 4x less CPU at 100k runs. SQLite only: PostgreSQL hash-joins, and
InnoDB's primary keys already hold the rows. The tables are re-analyzed when statistics exist,
so the planner does not take the new runs index for the runs page's start-time order.

Revision ID: 0003_ui
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_ui"
down_revision = "0002"
branch_labels = None
depends_on = None


# (name, table, columns, partial WHERE). The latest_metrics one is partial so that searches
# ordered or filtered by a metric (``kind <> 1``, …) keep walking ``(name, value)``: they cannot
# use it, the grouping statement (``kind = 0``) can.
_INDEXES = (
    ("ix_runs_exp_stage_run", "runs", ["experiment_id", "lifecycle_stage", "run_id"], None),
    ("ix_params_name_run", "params", ["name", "run_id", "value"], None),
    ("ix_tags_name_run", "tags", ["name", "run_id", "value"], None),
    ("ix_latest_metrics_name_run", "latest_metrics", ["name", "run_id", "kind", "value"], "kind = 0"),
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for name, table, cols, where in _INDEXES:
        op.create_index(name, table, cols, sqlite_where=sa.text(where) if where else None)
    # statistics that know the old indexes but not the new ones mislead the planner
    if bind.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
        for _, table, _, _ in _INDEXES:
            bind.exec_driver_sql(f"ANALYZE {table}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, table, _, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
