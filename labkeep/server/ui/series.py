"""Downsampled metric series for charts (``/ui-api/metric-series``).

A series with more points than ``max_points`` is cut into buckets of equal step width (or equal
time width when every point has the same step); each bucket keeps its minimum, its maximum and its
last point, so spikes survive downsampling. The buckets are computed by the database in one
``GROUP BY`` over the ``(run_id, name, step, ts)`` index range, plus one query for the last values;
nothing proportional to the number of points crosses into Python.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from labkeep.utils import validation as v

DEFAULT_MAX_POINTS = 1000
MAX_MAX_POINTS = 20000
# Downsampled series by (store, run, key, max_points) with a validity token (point count, last step
# and time). Metric history is append-only, so a changed count or last point means "recompute".
_CACHE: OrderedDict[tuple, tuple[tuple, dict[str, Any]]] = OrderedDict()
_CACHE_SIZE = 64
_CACHE_LOCK = threading.Lock()


def _finite(value: float, kind: int) -> float | None:
    if kind != 0:
        return None
    return float(value)


# Per bucket: min and max of the finite values, the largest step (or time) of a finite point, and
# every point counted (NaN and infinities too, so the total needs no extra scan).
_AGG = (
    "MIN(CASE WHEN kind = 0 THEN value END), MAX(CASE WHEN kind = 0 THEN value END),"
    " MAX(CASE WHEN kind = 0 THEN {col} END), COUNT(*)"
)
_LOCAL = threading.local()
# Per SQLite series: the step range and time range of each bucket of its full downsampled view,
# valid while the series' fingerprint (see ``_fingerprint``) is unchanged.
# A wall-time zoom then seeks on the steps of the buckets its window touches: there is no time
# index (it would cost every logged point a third index entry).
_SPANS: dict[tuple, tuple[tuple[int, int, int, int], list[tuple[int, int, int, int]]]] = {}
_SPANS_SIZE = 256


@contextmanager
def _reader(store: Any) -> Iterator[Any]:
    """A cursor for reading a series.

    On SQLite the store serialises every statement on one connection; a million-point read would
    hold every other request (logging included) for its duration. Series are read instead on a
    per-thread read-only connection of the same file, in one read transaction (WAL lets it run
    beside the writer and gives it one snapshot). Other databases use the store's own reader.
    """
    db = store.db
    path = getattr(db, "path", None)
    if db.dialect != "sqlite" or not path:
        with db.read() as cur:
            yield cur
        return
    conns = getattr(_LOCAL, "conns", None)
    if conns is None:
        conns = _LOCAL.conns = {}
    conn = conns.get(path)
    if conn is None:
        import sqlite3

        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=30)
        conn.execute("PRAGMA case_sensitive_like = ON")
        conn.execute("PRAGMA mmap_size = 268435456")  # fewer copies on long scans (~7 % CPU)
        conns[path] = conn
    conn.execute("BEGIN")
    try:
        yield conn.cursor()
    finally:
        conn.execute("COMMIT")


def _fingerprint(cur: Any, where: str, args: tuple) -> tuple[int, int, int, int] | None:
    """What changes when a point is added to a series: its size, last step, points at that step and
    their latest time (points are only ever added). None for an empty series."""
    total = cur.execute(f"SELECT COUNT(*) FROM metrics WHERE {where}", args).fetchone()[0]
    if not total:
        return None
    hi_step = cur.execute(f"SELECT step FROM metrics WHERE {where} ORDER BY step DESC LIMIT 1", args).fetchone()[0]
    count, last_ts = cur.execute(
        f"SELECT COUNT(*), MAX(ts) FROM metrics WHERE {where} AND step = ?", (*args, hi_step)
    ).fetchone()
    return int(total), int(hi_step), int(count), int(last_ts or 0)


def metric_series(
    store: Any,
    run_id: str,
    key: str,
    max_points: int = DEFAULT_MAX_POINTS,
    window: tuple[str, int, int] | None = None,
) -> dict[str, Any]:
    """One run's metric as ``{step, ts, value, min, max, count, downsampled}`` column lists.

    ``window=("step"|"ts", lo, hi)`` keeps the points whose step (or time in ms) lies in
    ``[lo, hi]``: a zoomed chart asks for just the visible range, downsampled to its width, so
    zooming shows every point once the range is narrow enough.
    """
    v.validate_run_id(run_id)
    max_points = max(10, min(MAX_MAX_POINTS, int(max_points)))
    db = store.db
    where = "run_id = ? AND name = ?"
    wargs: tuple = (run_id, key)
    # per-bucket and last-point reads: every bucket lies inside a step window already, and a
    # second step range in the same statement can make SQLite seek on the window, not the bucket
    bwhere, bargs = where, wargs
    if window is not None:
        axis, w_lo, w_hi = window
        where += " AND step >= ? AND step <= ?" if axis == "step" else " AND ts >= ? AND ts <= ?"
        wargs = (run_id, key, int(w_lo), int(w_hi))
    with _reader(store) as cur:
        spans_key = (id(store), getattr(db, "path", ""), run_id, key)
        if window is not None and window[0] != "step":
            # no time index: the window's step range, from the buckets of the full view when they
            # are current, else from a scan of each end of the series up to the window; every
            # read below then seeks on steps inside it
            spans = _SPANS.get(spans_key)
            if spans is not None and spans[0] == _fingerprint(cur, bwhere, bargs):
                hit_spans = [sp for sp in spans[1] if sp[3] >= int(window[1]) and sp[2] <= int(window[2])]
                s_lo = min((sp[0] for sp in hit_spans), default=1)
                s_hi = max((sp[1] for sp in hit_spans), default=0)  # none: an empty range
            else:
                ends = [
                    cur.execute(f"SELECT step FROM metrics WHERE {where} ORDER BY step {d} LIMIT 1", wargs).fetchone()
                    for d in ("ASC", "DESC")
                ]
                s_lo, s_hi = (int(ends[0][0]), int(ends[1][0])) if ends[0] else (1, 0)
            bwhere, bargs = where, wargs  # (buckets lie inside the step range: see above)
            where += " AND step >= ? AND step <= ?"
            wargs = (*wargs, s_lo, s_hi)
        rows = cur.execute(
            f"SELECT step, ts, value, kind FROM metrics WHERE {where} ORDER BY step, ts LIMIT ?",
            (*wargs, max_points + 1),
        ).fetchall()
        out: dict[str, Any] = {"run_id": run_id, "key": key, "count": len(rows), "downsampled": False}
        if window is not None:
            out["window"] = [window[0], int(window[1]), int(window[2])]
        if len(rows) <= max_points:
            out.update(
                step=[int(r[0]) for r in rows],
                ts=[int(r[1]) for r in rows],
                value=[_finite(r[2], r[3]) for r in rows],
                min=None,
                max=None,
            )
            return out
        # index seeks, not a scan: the step range of the series
        lo_step = cur.execute(
            f"SELECT step FROM metrics WHERE {where} ORDER BY step LIMIT 1", wargs
        ).fetchone()[0]
        hi_step = cur.execute(
            f"SELECT step FROM metrics WHERE {where} ORDER BY step DESC LIMIT 1", wargs
        ).fetchone()[0]
        count, last_ts = cur.execute(
            f"SELECT COUNT(*), MAX(ts) FROM metrics WHERE {where} AND step = ?", (*wargs, hi_step)
        ).fetchone()
        cache_key = (id(store), run_id, key, max_points, window)
        with _CACHE_LOCK:
            hit = _CACHE.get(cache_key)
        if hit is not None:  # validating costs an index-only count; a first view skips it
            total = cur.execute(f"SELECT COUNT(*) FROM metrics WHERE {where}", wargs).fetchone()[0]
            if hit[0] == (int(total), int(hi_step), int(count), int(last_ts or 0)):
                with _CACHE_LOCK:
                    _CACHE.move_to_end(cache_key)
                return dict(hit[1])
        lo_ts = hi_ts = 0
        if int(hi_step) - int(lo_step) < max_points // 3:
            lo_ts, hi_ts = cur.execute(
                f"SELECT MIN(ts), MAX(ts) FROM metrics WHERE {where}", wargs
            ).fetchone()
        buckets = max(1, max_points // 3)
        by_step = int(hi_step) - int(lo_step) >= buckets
        col, lo, hi = ("step", int(lo_step), int(hi_step)) if by_step else ("ts", int(lo_ts), int(hi_ts))
        width = max(1, math.ceil((hi - lo + 1) / buckets))
        if by_step and db.dialect == "sqlite":
            # SQLite sorts the whole series for a GROUP BY; one index range per bucket reads the
            # points in index order instead (about 2.5x less CPU at a million points)
            rows, spans_list = [], []
            agg = f"SELECT {_AGG.format(col='step')}, MIN(ts), MAX(ts) FROM metrics WHERE {bwhere}"
            for b in range((hi - lo) // width + 1):
                start = lo + b * width
                end = min(start + width, hi + 1)
                r = cur.execute(f"{agg} AND step >= ? AND step < ?", (*bargs, start, end)).fetchone()
                if r[3]:
                    rows.append((b, *r[:4]))  # (bucket, min, max, last finite step, points)
                    spans_list.append((start, end - 1, int(r[4]), int(r[5])))
        else:
            spans_list = None
            div = "DIV" if db.dialect == "mysql" else "/"
            rows = cur.execute(
                f"SELECT ({col} - ?) {div} ? AS b, {_AGG.format(col=col)}"
                f" FROM metrics WHERE {where} GROUP BY b ORDER BY b",
                (lo, width, *wargs),
            ).fetchall()
        # the last point of each bucket: the row at the bucket's largest step (or ts)
        lasts: dict[int, tuple[int, int, float]] = {}
        total = sum(int(r[4]) for r in rows)
        token = (int(total), int(hi_step), int(count), int(last_ts or 0))
        if window is None and spans_list is not None:
            with _CACHE_LOCK:
                _SPANS[spans_key] = (token, spans_list)
                while len(_SPANS) > _SPANS_SIZE:
                    _SPANS.pop(next(iter(_SPANS)))
        rows = [r for r in rows if r[3] is not None]  # buckets holding only NaN/inf draw nothing
        ends = [int(r[3]) for r in rows]
        order = "step, ts" if by_step else "ts, step"
        lwhere, largs = (bwhere, bargs) if by_step else (where, wargs)
        for i in range(0, len(ends), 500):
            chunk = ends[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for step, ts, value in cur.execute(
                f"SELECT step, ts, value FROM metrics WHERE {lwhere} AND kind = 0 AND {col} IN ({marks})"
                f" ORDER BY {order}",
                (*largs, *chunk),
            ).fetchall():
                lasts[int(step) if by_step else int(ts)] = (int(step), int(ts), float(value))
    steps, tss, values, mins, maxs = [], [], [], [], []
    out["count"] = int(total)  # every point, NaN and infinities included
    for _, mn, mx, end, _n in rows:
        step, ts, value = lasts[int(end)]
        steps.append(step)
        tss.append(ts)
        values.append(value)
        mins.append(float(mn))
        maxs.append(float(mx))
    out.update(step=steps, ts=tss, value=values, min=mins, max=maxs, downsampled=True)
    with _CACHE_LOCK:
        _CACHE[cache_key] = (token, dict(out))
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return out


def series_for_runs(
    store: Any,
    run_ids: list[str],
    key: str,
    max_points: int,
    window: tuple[str, int, int] | None = None,
) -> list[dict[str, Any]]:
    out = []
    for run_id in run_ids:
        run = store.get_run(run_id)
        w = window
        if w is not None and w[0] == "relative":  # ms since each run's start → that run's times
            t0 = int(run.info.start_time or 0)
            w = ("ts", t0 + w[1], t0 + w[2])
        s = metric_series(store, run_id, key, max_points, w)
        s["run_name"] = run.info.run_name
        s["start_time"] = run.info.start_time
        out.append(s)
    return out
