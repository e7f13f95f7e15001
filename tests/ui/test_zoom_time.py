"""A wall-time zoom reads exactly the points whose time lies in the window (SQLite store).

Without a time index the window's step range comes from the buckets of the full view while no
point was added since, else from scans of the series; both must give every point in the window,
including points whose time is out of step order and points logged after the full view.
"""

from __future__ import annotations

from labkeep.entities import Metric
from labkeep.server.ui import series
from labkeep.stores.sql.tracking import SqlTrackingStore

T0 = 1_700_000_000_000


def _points(n: int) -> list[tuple[int, int, float]]:
    pts = []
    for i in range(n):
        ts = T0 + i * 10
        if i % 997 == 0:  # a few points logged with a time far from their step's neighbours
            ts = T0 + ((i * 7919) % n) * 10 + 3
        pts.append((i, ts, float(i % 17)))
    return pts


def _in_window(pts, lo, hi):
    return sorted((s, t) for s, t, _ in pts if lo <= t <= hi)


def test_time_window_zoom_finds_every_point_before_and_after_new_points(sqlite_uri, tmp_path):
    store = SqlTrackingStore(sqlite_uri, str(tmp_path / "artifacts"))
    run_id = store.create_run("0", "u", T0, [], "long").info.run_id
    pts = _points(6000)
    for i in range(0, len(pts), 1000):
        store.log_batch(run_id, metrics=[Metric("loss", v, t, s) for s, t, v in pts[i : i + 1000]], params=[], tags=[])
    full = series.metric_series(store, run_id, "loss", 300)
    assert full["downsampled"] and full["count"] == 6000

    def zoom(lo, hi):
        s = series.metric_series(store, run_id, "loss", 5000, ("ts", lo, hi))
        assert not s["downsampled"]
        return sorted(zip(s["step"], s["ts"], strict=True))

    for lo, hi in ((T0 + 20_000, T0 + 24_000), (T0 + 59_000, T0 + 70_000), (T0 - 50, T0 + 5)):
        want = _in_window(pts, lo, hi)
        assert zoom(lo, hi) == want
        # the same answer without the buckets' spans (the scan path)
        series._SPANS.clear()
        series._CACHE.clear()
        assert zoom(lo, hi) == want
        series.metric_series(store, run_id, "loss", 300)  # the full view again: spans are back
    # a point logged after the full view, at a step far from the window: the zoom still finds it
    store.log_batch(run_id, metrics=[Metric("loss", 99.0, T0 + 21_005, 50_000)], params=[], tags=[])
    got = zoom(T0 + 20_000, T0 + 24_000)
    assert (50_000, T0 + 21_005) in got
    assert len(got) == len(_in_window(pts, T0 + 20_000, T0 + 24_000)) + 1
    # a window with no point answers an empty series
    assert zoom(T0 + 10_000_000, T0 + 10_000_100) == []
    store.close()
