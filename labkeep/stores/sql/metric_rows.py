"""Metric points as database rows: the insert statements, rows from ``Metric`` objects and back.

Hot paths. Writing validates each point and builds a plain tuple per row; reading turns rows into
``Metric`` named tuples (or columns) with C-level ``zip``/``map`` instead of per-point Python code.
"""

from __future__ import annotations

import gc
import json
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from operator import itemgetter
from typing import Any, NamedTuple

from labkeep.entities import Metric, MetricColumns
from labkeep.stores.sql.db import Row, mysql_upsert_head
from labkeep.utils import validation as v

# Columns of a full point row, in the order of ``metric_from_row``.
METRIC_COLUMNS = "name, value, kind, ts, step, model_id, dataset_name, dataset_digest"

_INSERT_COLUMNS = "(run_id, name, step, ts, value, kind, model_id, dataset_name, dataset_digest)"
_METRIC_INSERT_SQL = f"INSERT INTO metrics {_INSERT_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_MODEL_METRIC_INSERT_SQL = f"INSERT INTO model_metrics {_INSERT_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

# Identical points (run, key, step, timestamp, value) are stored once: repeats are skipped. The
# transfer sink writes through the same statements. MySQL has no DO NOTHING; INSERT IGNORE would
# also swallow other errors, so a no-op update of a key column stands in for it.
METRIC_INSERT = {
    "sqlite": _METRIC_INSERT_SQL + " ON CONFLICT DO NOTHING",
    "postgresql": _METRIC_INSERT_SQL + " ON CONFLICT DO NOTHING",
    "mysql": _METRIC_INSERT_SQL + " ON DUPLICATE KEY UPDATE run_id = run_id",
}
MODEL_METRIC_INSERT = {
    "sqlite": _MODEL_METRIC_INSERT_SQL + " ON CONFLICT DO NOTHING",
    "postgresql": _MODEL_METRIC_INSERT_SQL + " ON CONFLICT DO NOTHING",
    "mysql": _MODEL_METRIC_INSERT_SQL + " ON DUPLICATE KEY UPDATE model_id = model_id",
}

_POINT_COLUMNS = ("run_id", "name", "step", "ts", "value", "kind", "model_id", "dataset_name", "dataset_digest")
_LINK_COLUMNS = ("kind", "model_id", "dataset_name", "dataset_digest")
_MYSQL_NEWER = "(src.step, src.ts, src.value) > (latest_metrics.step, latest_metrics.ts, latest_metrics.value)"
_LATEST_INSERT = f"INSERT INTO latest_metrics {_INSERT_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_LATEST_NEWER = "(excluded.step, excluded.ts, excluded.value) > (latest_metrics.step, latest_metrics.ts, latest_metrics.value)"
# Each run's latest point per key: the stored one is replaced only by a newer one, the greatest
# (step, timestamp, value).
LATEST_UPSERT = {
    "sqlite": _LATEST_INSERT
    + " ON CONFLICT (run_id, name) DO UPDATE SET step = excluded.step, ts = excluded.ts,"
    " value = excluded.value, kind = excluded.kind, model_id = excluded.model_id,"
    " dataset_name = excluded.dataset_name, dataset_digest = excluded.dataset_digest"
    f" WHERE {_LATEST_NEWER}",
    # MySQL/MariaDB: one newer test per assignment and no session variable. Assignments may run
    # left to right (seeing the columns already set) or all at once (MariaDB's
    # SIMULTANEOUS_ASSIGNMENT); ordered value, ts, step with these tests, both give the newer point.
    "mysql": mysql_upsert_head("latest_metrics", _POINT_COLUMNS)
    + ", ".join(f"latest_metrics.{c} = IF({_MYSQL_NEWER}, src.{c}, latest_metrics.{c})" for c in _LINK_COLUMNS)
    + f", latest_metrics.value = IF({_MYSQL_NEWER}, src.value, latest_metrics.value)"
    + ", latest_metrics.ts = IF((src.step, src.ts) > (latest_metrics.step, latest_metrics.ts),"
    " src.ts, latest_metrics.ts)"
    ", latest_metrics.step = IF(src.step > latest_metrics.step, src.step, latest_metrics.step)",
}
LATEST_UPSERT["postgresql"] = LATEST_UPSERT["sqlite"]

# A plain point (finite, linked to no model or dataset) as a 5-column row: binding four fewer
# parameters per point is about a tenth of SQLite's insert time.
_PLAIN_INSERT_SQL = "INSERT INTO metrics (run_id, name, step, ts, value, kind) VALUES (?, ?, ?, ?, ?, 0)"
PLAIN_METRIC_INSERT = {
    "sqlite": _PLAIN_INSERT_SQL + " ON CONFLICT DO NOTHING",
    "postgresql": _PLAIN_INSERT_SQL + " ON CONFLICT DO NOTHING",
    "mysql": _PLAIN_INSERT_SQL + " ON DUPLICATE KEY UPDATE run_id = run_id",
}

# Points that a history of plain (value, ts, step) rows cannot represent (``ix_metrics_special``
# indexes exactly these on SQLite and PostgreSQL).
METRIC_SPECIAL = "kind <> 0 OR model_id IS NOT NULL OR dataset_name IS NOT NULL OR dataset_digest IS NOT NULL"

# PostgreSQL: a batch of at least this many points goes in as one statement of column arrays.
PG_UNNEST_MIN_ROWS = 8
PG_METRIC_INSERT_UNNEST = (
    f"INSERT INTO metrics {_INSERT_COLUMNS}"
    " SELECT * FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS bigint[]), CAST(? AS bigint[]),"
    " CAST(? AS double precision[]), CAST(? AS smallint[]), CAST(? AS text[]), CAST(? AS text[]),"
    " CAST(? AS text[]))"
    " ON CONFLICT DO NOTHING"
)
# The same for plain points: the run id once, four arrays.
PG_PLAIN_INSERT_UNNEST = (
    "INSERT INTO metrics (run_id, name, step, ts, value, kind)"
    " SELECT CAST(? AS text), u.*, 0 FROM unnest(CAST(? AS text[]), CAST(? AS bigint[]), CAST(? AS bigint[]),"
    " CAST(? AS double precision[])) AS u"
    " ON CONFLICT DO NOTHING"
)


# PostgreSQL: a batch of plain points in one statement, run without a transaction around it. The
# points travel as one JSON text (psycopg's array dumpers cost more Python time than the rest of
# the request); the run's stage gates both inserts and comes back, so a run that is missing or
# not active gets nothing written and a clear error. JSON floats round-trip exactly (repr in,
# strtod out) and plain points are finite.
PG_PLAIN_BATCH = (
    "WITH run AS (SELECT lifecycle_stage FROM runs WHERE run_id = ?),"
    " p AS (SELECT * FROM json_to_recordset(CAST(? AS json)) AS u(n text, s bigint, t bigint, v double precision)"
    " WHERE (SELECT lifecycle_stage FROM run) = 'active'),"
    " ins AS (INSERT INTO metrics (run_id, name, step, ts, value, kind) SELECT ?, n, s, t, v, 0 FROM p"
    " ON CONFLICT DO NOTHING),"
    " lat AS (INSERT INTO latest_metrics (run_id, name, step, ts, value, kind)"
    " SELECT DISTINCT ON (n) ?, n, s, t, v, 0 FROM p ORDER BY n, s DESC, t DESC, v DESC"
    " ON CONFLICT (run_id, name) DO UPDATE SET step = excluded.step, ts = excluded.ts,"
    " value = excluded.value, kind = excluded.kind, model_id = excluded.model_id,"
    " dataset_name = excluded.dataset_name, dataset_digest = excluded.dataset_digest"
    f" WHERE {_LATEST_NEWER})"
    " SELECT lifecycle_stage FROM run"
)


def plain_points_json(rows: list[Row]) -> str:
    """Plain ``(run_id, name, step, ts, value)`` rows as the JSON that ``PG_PLAIN_BATCH`` reads."""
    return json.dumps([{"n": r[1], "s": r[2], "t": r[3], "v": r[4]} for r in rows], separators=(",", ":"))


class PointRows(NamedTuple):
    """Validated rows of a batch of points.

    ``plain``: every point is finite and linked to no model or dataset, and ``rows`` hold
    ``(run_id, name, step, ts, value)``; otherwise full ``(run_id, name, step, ts, value, kind,
    model_id, dataset_name, dataset_digest)`` rows.
    """

    rows: list[Row]
    plain: bool

    def full(self, rows: list[Row]) -> list[Row]:
        """``rows`` (some of this batch's) as full rows."""
        return [(*r, 0, None, None, None) for r in rows] if self.plain else rows


def metric_row(run_id: str, m: Metric) -> Row:
    """The validated row ``(run_id, name, step, ts, value, kind, model_id, dataset_name, dataset_digest)``."""
    value, ts, step = v.validate_metric(m.key, m.value, m.timestamp, m.step)
    stored, kind = v.encode_metric_value(value)
    return (run_id, m.key, step, ts, stored, kind, m.model_id, m.dataset_name, m.dataset_digest)


def metric_rows(run_id: str, metrics: Sequence[Metric]) -> PointRows:
    """Validated rows for many metrics.

    A batch of plain points (finite float values, int timestamps ≥ 0 and steps, keys seen before,
    no model or dataset links) is checked and turned into rows column by column in C; any other
    batch goes point by point.
    """
    if not metrics:
        return PointRows([], True)
    keys, values, tss, steps, model_ids, dataset_names, dataset_digests, _ = zip(*metrics, strict=True)
    known = v._VALID_KEYS
    if (
        _only(float, values)
        and _only(int, tss)
        and _only(int, steps)
        and min(tss) >= 0
        and all(map(math.isfinite, values))
        and all((key, "metric name") in known for key in set(keys))
        and model_ids.count(None) == dataset_names.count(None) == dataset_digests.count(None) == len(keys)
    ):
        return PointRows(list(zip(repeat(run_id), keys, steps, tss, values)), True)
    rows = [metric_row(run_id, m) for m in metrics]
    if all(r[5] == 0 and r[6] is None and r[7] is None and r[8] is None for r in rows):
        return PointRows([r[:5] for r in rows], True)
    return PointRows(rows, False)


def _only(kind: type, column: Sequence[Any]) -> bool:
    """Every item's type is exactly ``kind`` (so bool is not an int here)."""
    return set(map(type, column)) == {kind}


def latest_rows(rows: list[Row]) -> list[Row]:
    """The newest row per metric name: the greatest (step, ts, value), as ``latest_metrics`` keeps.
    Rows begin ``(run_id, name, step, ts, value)``."""
    # A stable sort by (step, ts, value), then the last row of each name wins.
    return list({row[1]: row for row in sorted(rows, key=_newness)}.values())


_newness = itemgetter(2, 3, 4)


_new_tuple = tuple.__new__


def metric_from_row(row: Sequence[Any], run_id: str | None = None) -> Metric:
    """A Metric from a ``METRIC_COLUMNS`` row. Drivers return ints for BIGINT and floats for doubles."""
    name, value, kind, ts, step, model_id, dataset_name, dataset_digest = row
    if kind != 0:
        value = v.decode_metric_value(float(value), int(kind))
    return _new_tuple(Metric, (name, value, ts, step, model_id, dataset_name, dataset_digest, run_id))


def metrics_from_rows(rows: Sequence[Sequence[Any]], run_id: str | None = None) -> list[Metric]:
    """``metric_from_row`` over many rows."""
    return [metric_from_row(r, run_id) for r in rows]


def plain_columns(rows: list[Row]) -> MetricColumns:
    """Columns from ``(value, ts, step)`` rows of finite, unlinked points (no per-point Python)."""
    return MetricColumns(list(map(_third, rows)), list(map(_second, rows)), list(map(_first, rows)))


def plain_history(rows: list[Row], key: str, run_id: str) -> list[Metric]:
    """Metric objects from ``(value, ts, step)`` rows of finite, unlinked points, built by ``map``
    in C (reading each column through ``itemgetter`` is twice as fast as transposing first)."""
    fields = zip(
        repeat(key),
        map(_first, rows),
        map(_second, rows),
        map(_third, rows),
        repeat(None),
        repeat(None),
        repeat(None),
        repeat(run_id),
    )
    return list(map(_new_tuple, repeat(Metric), fields))


_first, _second, _third = itemgetter(0), itemgetter(1), itemgetter(2)


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large result is built.

    A million new tuples trigger collections that walk every live object again and again (about
    two thirds of the time of building a 1M-point history). Nested and concurrent pauses are
    counted so that the collector comes back on when the last one ends, as it was before.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()
