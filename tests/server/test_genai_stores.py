"""Scorer versions and trace metric aggregates on every SQL backend (SQLite, PostgreSQL, MySQL)."""

from __future__ import annotations

import json
import threading

import pytest

from labkeep.exceptions import InvalidParameterValue, LabkeepException, ResourceDoesNotExist
from labkeep.genai.tracing.entities import TOKEN_USAGE_METADATA, TRACE_NAME_TAG, TraceInfo
from labkeep.stores.sql.scorers import SqlScorerStore
from labkeep.stores.sql.trace_metrics import Aggregation, parse_aggregation, query_trace_metrics
from labkeep.stores.sql.traces import SqlTraceStore
from labkeep.stores.sql.tracking import SqlTrackingStore


@pytest.fixture
def tracking(db_uri, tmp_path):
    store = SqlTrackingStore(db_uri, str(tmp_path / "artifacts"))
    yield store
    store.close()


def test_scorer_versions_lifecycle(tracking):
    exp = tracking.create_experiment("scorers")
    other = tracking.create_experiment("scorers-2")
    s = SqlScorerStore(tracking.db)
    v1 = s.register_scorer(exp, "relevance", json.dumps({"v": 1}))
    v2 = s.register_scorer(exp, "relevance", json.dumps({"v": 2}))
    s.register_scorer(other, "relevance", "{}")
    assert (v1["scorer_version"], v2["scorer_version"]) == (1, 2)
    assert v1["scorer_id"] == v2["scorer_id"]  # one scorer, two versions
    assert [x["scorer_version"] for x in s.list_scorers([exp])] == [2]
    assert len(s.list_scorers([exp, other])) == 2
    assert json.loads(s.get_scorer(exp, "relevance")["serialized_scorer"]) == {"v": 2}
    assert json.loads(s.get_scorer(exp, "relevance", 1)["serialized_scorer"]) == {"v": 1}
    s.delete_scorer(exp, "relevance", 1)
    assert [x["scorer_version"] for x in s.list_scorer_versions(exp, "relevance")] == [2]
    # the next version keeps counting up from the highest left
    assert s.register_scorer(exp, "relevance", "{}")["scorer_version"] == 3
    s.delete_scorer(exp, "relevance")
    assert s.list_scorers([exp]) == []
    with pytest.raises(ResourceDoesNotExist):
        s.get_scorer(exp, "relevance")
    with pytest.raises(ResourceDoesNotExist):
        s.delete_scorer(exp, "relevance")
    with pytest.raises(ResourceDoesNotExist):
        s.register_scorer("987654", "x", "{}")
    with pytest.raises(InvalidParameterValue):
        s.register_scorer(exp, "", "{}")
    with pytest.raises(InvalidParameterValue):
        s.register_scorer("abc", "x", "{}")


def test_concurrent_registers_get_distinct_versions(tracking):
    exp = tracking.create_experiment("race")
    s = SqlScorerStore(tracking.db)
    got: list[int] = []
    errors: list[BaseException] = []

    def register() -> None:
        try:
            got.append(s.register_scorer(exp, "same", "{}")["scorer_version"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(got) == [1, 2, 3, 4]


def _trace(store, exp, tid, state, start, duration, name=None, tokens=None):
    info = TraceInfo(
        trace_id=tid, experiment_id=exp, request_time=start, execution_duration=duration, state=state
    )
    if name:
        info.tags[TRACE_NAME_TAG] = name
    if tokens is not None:
        info.trace_metadata[TOKEN_USAGE_METADATA] = json.dumps(
            {"input_tokens": tokens, "total_tokens": 2 * tokens}
        )
    store.start_trace(info)


def test_trace_metrics(tracking):
    exp = tracking.create_experiment("metrics")
    other = tracking.create_experiment("metrics-other")
    traces = SqlTraceStore(tracking.db)
    _trace(traces, exp, "tr-1", "OK", 1_000, 10, "chat", 5)
    _trace(traces, exp, "tr-2", "OK", 2_000, 30, "chat", 7)
    _trace(traces, exp, "tr-3", "ERROR", 61_000, 50, "search")
    _trace(traces, other, "tr-4", "OK", 1_000, 99, "chat")
    count = [Aggregation("COUNT")]
    by_status = query_trace_metrics(tracking.db, [exp], "TRACES", "trace_count", count, ["trace_status"])
    assert by_status == [
        {"metric_name": "trace_count", "dimensions": {"trace_status": "ERROR"}, "values": {"COUNT": 1.0}},
        {"metric_name": "trace_count", "dimensions": {"trace_status": "OK"}, "values": {"COUNT": 2.0}},
    ]
    aggs = [
        Aggregation("AVG"),
        Aggregation("MAX"),
        parse_aggregation({"aggregation_type": "PERCENTILE", "percentile_value": 50}),
    ]
    latency = query_trace_metrics(tracking.db, [exp], "TRACES", "latency", aggs, ["trace_name"])
    assert [(p["dimensions"]["trace_name"], p["values"]) for p in latency] == [
        ("chat", {"AVG": 20.0, "MAX": 30.0, "P50.0": 20.0}),
        ("search", {"AVG": 50.0, "MAX": 50.0, "P50.0": 50.0}),
    ]
    tokens = query_trace_metrics(tracking.db, [exp], "TRACES", "total_tokens", [Aggregation("SUM")])
    assert tokens == [{"metric_name": "total_tokens", "dimensions": {}, "values": {"SUM": 24.0}}]
    buckets = query_trace_metrics(
        tracking.db, [exp], "TRACES", "trace_count", count, time_interval_seconds=60, end_time_ms=100_000
    )
    assert [(p["dimensions"]["time_bucket"], p["values"]["COUNT"]) for p in buckets] == [
        ("1970-01-01T00:00:00+00:00", 2.0),
        ("1970-01-01T00:01:00+00:00", 1.0),
    ]
    assert (
        query_trace_metrics(tracking.db, [exp], "TRACES", "trace_count", count, start_time_ms=5_000_000) == []
    )
    for bad in (
        lambda: query_trace_metrics(tracking.db, [exp], "TRACES", "nope", count),
        lambda: query_trace_metrics(tracking.db, [exp], "TRACES", "trace_count", count, ["color"]),
        lambda: query_trace_metrics(tracking.db, [exp], "TRACES", "trace_count", [Aggregation("SUM")]),
        lambda: query_trace_metrics(tracking.db, ["x"], "TRACES", "trace_count", count),
        lambda: parse_aggregation({"aggregation_type": "PERCENTILE", "percentile_value": 101}),
        lambda: parse_aggregation({"aggregation_type": "MEDIAN"}),
    ):
        with pytest.raises(InvalidParameterValue):
            bad()
    with pytest.raises(LabkeepException) as err:
        query_trace_metrics(tracking.db, [exp], "SPANS", "span_count", count)
    assert err.value.error_code == "NOT_IMPLEMENTED"
