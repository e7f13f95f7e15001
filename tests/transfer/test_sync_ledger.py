"""``labkeep sync``'s ledger in process, between two SQLite stores: a run still growing sends only
its new points, a point logged back in time resends its key, and a destination that lost the run
gets it whole again."""

from __future__ import annotations

import pytest

from labkeep import Client
from labkeep.transfer import transfer
from labkeep.transfer.sql_sink import SqlSink
from labkeep.transfer.store_source import StoreSource
from labkeep.transfer.sync import Ledger, LedgerSink, LedgerSource, new_points

T0 = 1_700_000_000_000


@pytest.fixture
def stores(tmp_path):
    off = tmp_path / "off"
    off.mkdir()
    return f"sqlite:///{off}/labkeep.db", f"sqlite:///{tmp_path}/server.db", str(off)


def _sync(offline: str, dest: str, folder: str) -> tuple[LedgerSource, LedgerSink]:
    ledger = Ledger(folder, "the-server")
    source = LedgerSource(StoreSource(offline), ledger)
    sink = LedgerSink(SqlSink(dest, artifact_root=folder + "/../art"), ledger)
    try:
        summary = transfer(source, sink)
    finally:
        source.close()
        sink.close()
        ledger.save()
    assert summary.ok, summary.problems
    return source, sink


def _log(client: Client, run_id: str, steps: range, ts: int = T0) -> None:
    for step in steps:
        client.log_metric(run_id, "loss", 1.0 / (step + 1), timestamp=ts + step, step=step)
        client.log_metric(run_id, "acc", step / 100, timestamp=ts + step, step=step)


def _points(dest: str, run_id: str) -> list[tuple]:
    c = Client(dest)
    return sorted(
        (m.key, m.step, m.timestamp, m.value)
        for k in ("loss", "acc")
        for m in c.get_metric_history(run_id, k)
    )


def test_growing_run_sends_only_its_new_points(stores):
    offline, dest, folder = stores
    client = Client(offline)
    run_id = client.create_run(client.create_experiment("grow")).info.run_id
    _log(client, run_id, range(10))
    _, sink = _sync(offline, dest, folder)
    assert sink.points_sent == 20
    _log(client, run_id, range(10, 25))
    source, sink = _sync(offline, dest, folder)
    assert sink.points_sent == 30  # 15 new steps of 2 keys, nothing already there
    assert _points(dest, run_id) == _points(offline, run_id) and len(_points(dest, run_id)) == 50
    client.set_terminated(run_id)
    source, sink = _sync(offline, dest, folder)
    assert sink.points_sent == 0 and source.skipped == 0  # the status changed, no point did
    assert Client(dest).get_run(run_id).info.status == "FINISHED"
    source, sink = _sync(offline, dest, folder)
    assert (sink.points_sent, source.skipped) == (0, 1)


def test_point_logged_back_in_time_resends_its_key_and_a_lost_run_comes_whole(stores, tmp_path):
    offline, dest, folder = stores
    client = Client(offline)
    run_id = client.create_run(client.create_experiment("grow")).info.run_id
    _log(client, run_id, range(10))
    _sync(offline, dest, folder)
    client.log_metric(run_id, "loss", 7.0, timestamp=T0 - 5, step=3)  # before the pushed mark
    client.log_metric(run_id, "acc", 1.0, timestamp=T0 + 50, step=50)
    _, sink = _sync(offline, dest, folder)
    assert sink.points_sent == 11 + 1  # all of loss (10 + 1), the one new acc point
    assert _points(dest, run_id) == _points(offline, run_id)
    # the destination is replaced by an empty one: the ledger is stale, the run goes whole
    other = f"sqlite:///{tmp_path}/replaced.db"
    client.log_metric(run_id, "acc", 2.0, timestamp=T0 + 60, step=60)
    _sync(offline, other, folder)
    assert _points(other, run_id) == _points(offline, run_id) and len(_points(other, run_id)) == 23


def test_new_points_against_marks():
    pts = [["a", 1.0, 10, 0], ["a", 2.0, 11, 1], ["b", 3.0, 10, 0], ["a", 4.0, 12, 2]]
    assert new_points(pts, {}) == pts
    assert new_points(pts, {"a": [2, 1, 11]}) == [pts[2], pts[3]]
    assert new_points(pts, {"a": [2, 1, 11], "b": [1, 0, 10]}) == [pts[3]]
    # "a" has 3 points at or before its mark where 2 were pushed: all of "a" again
    late = [*pts, ["a", 5.0, 5, 0]]
    assert new_points(late, {"a": [2, 1, 11], "b": [1, 0, 10]}) == [pts[0], pts[1], pts[3], late[4]]
