"""Metric points as rows and back: the named-tuple Metric and the collector pause of bulk reads."""

from __future__ import annotations

import gc
import pickle
import threading

import pytest

from labkeep.entities import Metric
from labkeep.stores.sql.metric_rows import gc_paused, metric_from_row, plain_columns, plain_history


def test_metric_is_an_immutable_value():
    m = Metric("loss", 0.5, 1000, 3)
    assert m == Metric(key="loss", value=0.5, timestamp=1000, step=3)
    assert m != Metric("loss", 0.5, 1000, 4)
    assert hash(m) == hash(Metric("loss", 0.5, 1000, 3))
    assert (m.model_id, m.dataset_name, m.dataset_digest, m.run_id) == (None, None, None, None)
    with pytest.raises(AttributeError):
        m.value = 1.0  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(m)) == m
    assert Metric.from_dict(m.to_dict()) == m


def test_rows_become_the_same_metrics_as_the_constructor():
    row = ("acc", 0.25, 0, 7, 2, None, "ds", "digest")
    assert metric_from_row(row, "r1") == Metric("acc", 0.25, 7, 2, None, "ds", "digest", "r1")
    assert metric_from_row(("acc", 0.0, 1, 7, 2, None, None, None)).value != metric_from_row(row).value
    cols = plain_columns([(0.5, 10, 0), (0.25, 11, 1)])
    assert (cols.steps, cols.timestamps, cols.values) == ([0, 1], [10, 11], [0.5, 0.25])
    got = plain_history([(0.5, 10, 0), (0.25, 11, 1)], "loss", "r1")
    assert got == [Metric("loss", 0.5, 10, 0, run_id="r1"), Metric("loss", 0.25, 11, 1, run_id="r1")]
    assert all(type(m) is Metric for m in got)


def test_gc_pause_nests_and_restores_the_collector():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_gc_pause_from_many_threads_ends_with_the_collector_on():
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        for _ in range(200):
            with gc_paused():
                pass

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gc.isenabled()


def test_gc_pause_keeps_a_disabled_collector_disabled():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
