"""Metrics in the SQL tracking store: logging points (one or a batch) and reading histories."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from labkeep.entities import Metric, MetricColumns, PagedList, Param, RunTag
from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.stores.sql.db import Cursor, Row
from labkeep.stores.sql.metric_rows import (
    LATEST_UPSERT,
    METRIC_COLUMNS,
    METRIC_INSERT,
    METRIC_SPECIAL,
    MODEL_METRIC_INSERT,
    PG_METRIC_INSERT_UNNEST,
    PG_PLAIN_BATCH,
    PG_PLAIN_INSERT_UNNEST,
    PG_UNNEST_MIN_ROWS,
    PLAIN_METRIC_INSERT,
    PointRows,
    gc_paused,
    latest_rows,
    metric_rows,
    metrics_from_rows,
    plain_columns,
    plain_history,
    plain_points_json,
)
from labkeep.stores.sql.runs import RunsMixin
from labkeep.utils import validation as v

# A whole history, in the order of the table's primary key (run_id, name, step, ts, value, kind).
_PLAIN_HISTORY = "SELECT value, ts, step FROM metrics WHERE run_id = ? AND name = ? ORDER BY step, ts"
# Points the plain read cannot represent: non-finite values (stored as stand-ins) or links. One
# probe of the partial index ix_metrics_special (SQLite's planner would rather scan the primary
# key, so it is named); MySQL has no partial indexes and scans the metric's points.
_ANY_SPECIAL_POINT = f"SELECT 1 FROM metrics WHERE run_id = ? AND name = ? AND ({METRIC_SPECIAL}) LIMIT 1"
_ANY_SPECIAL_POINT_SQLITE = _ANY_SPECIAL_POINT.replace("FROM metrics", "FROM metrics INDEXED BY ix_metrics_special")
_READ_CHUNK = 8192
_FULL_HISTORY = (
    f"SELECT {METRIC_COLUMNS} FROM metrics WHERE run_id = ? AND name = ? ORDER BY step, ts LIMIT ? OFFSET ?"
)


class MetricsMixin(RunsMixin):
    """Metric points, each run's latest value per key, and histories."""

    def _write_metrics(self, cur: Cursor, points: PointRows, latest: list[Row]) -> None:
        dialect, rows = self.db.dialect, points.rows
        if dialect == "postgresql" and len(rows) >= PG_UNNEST_MIN_ROWS:
            # One statement with one array per column: a single round of parsing and planning
            # on the server instead of one bind/execute per point.
            columns = [list(col) for col in zip(*rows, strict=True)]
            if points.plain:
                cur.execute(PG_PLAIN_INSERT_UNNEST, [rows[0][0], *columns[1:]])
            else:
                cur.execute(PG_METRIC_INSERT_UNNEST, columns)
        elif points.plain:
            cur.executemany(PLAIN_METRIC_INSERT[dialect], rows)
        else:
            cur.executemany(METRIC_INSERT[dialect], rows)
            linked = [row for row in rows if row[6] is not None]
            if linked:
                cur.executemany(MODEL_METRIC_INSERT[dialect], linked)
        cur.executemany(LATEST_UPSERT[dialect], latest)

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self.log_batch(run_id, [metric])

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        v.validate_batch_sizes(len(metrics), len(params), len(tags))
        # Validate everything before writing anything: a failed batch writes nothing. Building
        # a thousand rows with the collector on costs a fifth more (it walks the caller's points).
        with gc_paused():
            points = metric_rows(run_id, metrics)
        param_map: dict[str, str] = {}
        for p in params:
            v.validate_key(p.key, "param name")
            if p.key in param_map:
                raise InvalidParameterValue(
                    f"Duplicate parameter key '{p.key}' in one batch; each param may appear once per request."
                )
            param_map[p.key] = v.validate_param_value(p.key, p.value)
        tag_map: dict[str, str] = {}
        for t in tags:
            v.validate_key(t.key, "tag key")
            tag_map[t.key] = v.validate_tag_value(t.key, t.value)
        if points.plain and points.rows and not param_map and not tag_map and self.db.dialect == "postgresql":
            self._log_plain_points_at_once(run_id, points.rows)
            return
        latest = points.full(latest_rows(points.rows))
        with self.db.write() as cur:
            self._require_active_run(cur, run_id)
            if param_map:
                self._write_params(cur, run_id, param_map)
            if tag_map:
                self._write_tags(cur, run_id, tag_map)
            if points.rows:
                self._write_metrics(cur, points, latest)

    def _log_plain_points_at_once(self, run_id: str, rows: list[Row]) -> None:
        """PostgreSQL: plain points and the run's latest values in one statement, one round trip."""
        body = plain_points_json(rows)
        with self.db.one_statement() as cur:
            stage = cur.execute(PG_PLAIN_BATCH, (run_id, body, run_id, run_id)).fetchone()
        self._check_active_run(run_id, None if stage is None else stage[0])

    def get_metric_history(
        self, run_id: str, metric_key: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Metric]:
        v.validate_run_id(run_id)
        if max_results is None and not page_token:
            with gc_paused():
                history: list[Metric] = []
                if self._plain_read(run_id, metric_key, lambda rows: history.extend(plain_history(rows, metric_key, run_id))):
                    return PagedList(history, None)
                rows = self._history_rows(run_id, metric_key)
                return PagedList(metrics_from_rows(rows, run_id), None)
        from labkeep import search

        offset = search.parse_page_token(page_token)
        if max_results is not None and int(max_results) <= 0:
            raise InvalidParameterValue(f"max_results must be a positive integer; got {max_results}.")
        limit = 2**62 if max_results is None else int(max_results) + 1
        rows = self._history_rows(run_id, metric_key, limit, offset)
        token = None
        if max_results is not None and len(rows) > int(max_results):
            rows = rows[: int(max_results)]
            token = search.make_page_token(offset + int(max_results))
        return PagedList(metrics_from_rows(rows, run_id), token)

    def get_metric_history_columns(self, run_id: str, metric_key: str) -> MetricColumns:
        """Every point of one metric as step, timestamp and value columns (no per-point objects)."""
        v.validate_run_id(run_id)
        steps: list[int] = []
        timestamps: list[int] = []
        values: list[float] = []

        def take(rows: list[Row]) -> None:
            part = plain_columns(rows)
            steps.extend(part.steps)
            timestamps.extend(part.timestamps)
            values.extend(part.values)

        with gc_paused():
            if self._plain_read(run_id, metric_key, take):
                return MetricColumns(steps, timestamps, values)
            rows = self._history_rows(run_id, metric_key)
        return MetricColumns([r[4] for r in rows], [r[3] for r in rows], [m.value for m in metrics_from_rows(rows)])

    def _plain_read(self, run_id: str, metric_key: str, take: Callable[[list[Row]], object]) -> bool:
        """Feed a whole history to ``take`` as chunks of ``(value, ts, step)`` rows, in order.

        False when the metric has points such rows cannot carry (non-finite values, links to a
        model or dataset): what was fed is then incomplete and the caller reads full rows. The
        check runs after the read, so a point added in between is either in neither or seen by
        it (points are only ever added). Chunks let a million-point read reuse the memory of
        each chunk's rows instead of holding them all at once.
        """
        with self.db.read(binary=True) as cur:
            cur.execute(_PLAIN_HISTORY, (run_id, metric_key))
            empty = True
            while rows := cur.fetchmany(_READ_CHUNK):
                take(rows)
                empty = False
            if empty:
                self._require_run(cur, run_id)
            elif cur.execute(
                _ANY_SPECIAL_POINT_SQLITE if self.db.dialect == "sqlite" else _ANY_SPECIAL_POINT, (run_id, metric_key)
            ).fetchone():
                return False
        return True

    def _history_rows(self, run_id: str, metric_key: str, limit: int = 2**62, offset: int = 0) -> list[Row]:
        """``METRIC_COLUMNS`` rows of one metric, ordered by step then timestamp."""
        with self.db.read() as cur:
            rows = cur.execute(_FULL_HISTORY, (run_id, metric_key, limit, offset)).fetchall()
            if not rows:
                self._require_run(cur, run_id)
        return rows

    def _require_run(self, cur: Cursor, run_id: str) -> None:
        if not cur.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
            raise ResourceDoesNotExist(f"Run with id={run_id} not found.")

    def get_metric_history_bulk(
        self, run_ids: Sequence[str], metric_key: str, max_results: int = 25000
    ) -> list[Metric]:
        """History of one metric for several runs (UI charts); each metric carries its run_id."""
        out: list[Metric] = []
        with self.db.read() as cur:
            for run_id in run_ids:
                rows = cur.execute(
                    f"SELECT {METRIC_COLUMNS} FROM metrics WHERE run_id = ? AND name = ? ORDER BY step, ts LIMIT ?",
                    (run_id, metric_key, int(max_results)),
                ).fetchall()
                out += metrics_from_rows(rows, run_id)
        return out

