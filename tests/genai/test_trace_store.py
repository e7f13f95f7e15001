"""SqlTraceStore on SQLite, PostgreSQL and MariaDB: write, read, search, tags, assessments, delete."""

from __future__ import annotations

import pytest

from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.genai.tracing.entities import Assessment, TraceInfo
from labkeep.stores.sql.traces import SqlTraceStore
from labkeep.stores.sql.tracking import SqlTrackingStore


def _span(trace_b64: str, span_b64: str, name: str, parent: str | None = None, t0: int = 0) -> dict:
    return {
        "trace_id": trace_b64,
        "span_id": span_b64,
        "parent_span_id": parent,
        "name": name,
        "start_time_unix_nano": 1_000 + t0,
        "end_time_unix_nano": 2_000 + t0,
        "events": [],
        "status": {"code": "STATUS_CODE_OK", "message": ""},
        "attributes": {"mlflow.spanType": '"LLM"', "mlflow.spanInputs": '{"q": "héllo ✓"}'},
        "links": [],
    }


@pytest.fixture
def stores(db_uri, tmp_path):
    tracking = SqlTrackingStore(db_uri, str(tmp_path / "artifacts"))
    exp = tracking.create_experiment("traces")
    yield tracking, SqlTraceStore(tracking.db), exp
    tracking.close()


def _info(exp: str, n: int, **kw) -> TraceInfo:
    return TraceInfo(
        trace_id=f"tr-{n:032x}",
        experiment_id=exp,
        request_time=1_700_000_000_000 + n * 1000,
        execution_duration=10 * n,
        state=kw.pop("state", "OK"),
        request_preview=f'{{"n": {n}}}',
        response_preview="ok",
        trace_metadata={"mlflow.sourceRun": kw.pop("run", "r1")},
        tags={"mlflow.traceName": kw.pop("name", "chain")},
    )


def test_round_trip_search_and_paging(stores):
    _, store, exp = stores
    for n in range(1, 6):
        spans = [_span("AAAA", f"S{n}==", "root"), _span("AAAA", f"C{n}==", "child", f"S{n}==", t0=5)]
        store.log_trace(
            _info(exp, n, name="even" if n % 2 == 0 else "odd", state="ERROR" if n == 5 else "OK"), spans
        )
    t = store.get_trace(f"tr-{3:032x}")
    assert t.info.request_time == 1_700_000_003_000 and t.info.execution_duration == 30
    assert [s["name"] for s in t.spans] == ["root", "child"]
    assert t.spans[0]["attributes"]["mlflow.spanInputs"] == '{"q": "héllo ✓"}'
    assert t.info.tags["mlflow.trace.spansLocation"] == "TRACKING_STORE"

    infos, token = store.search_traces([exp], max_results=2)
    assert [i.trace_id[-1] for i in infos] == ["5", "4"] and token
    infos2, token2 = store.search_traces([exp], max_results=2, page_token=token)
    infos3, token3 = store.search_traces([exp], max_results=2, page_token=token2)
    assert [i.trace_id[-1] for i in infos2 + infos3] == ["3", "2", "1"] and token3 is None
    assert {i.trace_id[-1] for i in store.search_traces([exp], "name = 'even'")[0]} == {"2", "4"}
    assert [i.trace_id[-1] for i in store.search_traces([exp], "status = 'ERROR'")[0]] == ["5"]
    assert [i.trace_id[-1] for i in store.search_traces([exp], "execution_time_ms >= 40")[0]] == ["5", "4"]
    ordered = store.search_traces([exp], order_by=["execution_time_ms ASC"])[0]
    assert [i.execution_duration for i in ordered] == [10, 20, 30, 40, 50]
    with pytest.raises(InvalidParameterValue):
        store.search_traces([exp], page_token="garbage")
    with pytest.raises(InvalidParameterValue):
        store.search_traces([exp], max_results=0)
    batch = store.batch_get_traces([f"tr-{1:032x}", "tr-missing", f"tr-{2:032x}"])
    assert [b.info.trace_id[-1] for b in batch] == ["1", "2"]


def test_tags_assessments_delete(stores):
    _, store, exp = stores
    store.log_trace(_info(exp, 1), [])
    tid = f"tr-{1:032x}"
    store.set_trace_tag(tid, "team", "x" * 9000)
    assert len(store.get_trace_info(tid).tags["team"]) == 8000  # value truncated, like the reference
    with pytest.raises(InvalidParameterValue):
        store.set_trace_tag(tid, "k" * 251, "v")
    with pytest.raises(InvalidParameterValue, match="names may only contain"):
        store.set_trace_tag(tid, "bad*key", "v")
    store.delete_trace_tag(tid, "team")
    with pytest.raises(ResourceDoesNotExist):
        store.delete_trace_tag(tid, "team")
    a = store.create_assessment(Assessment(name="quality", trace_id=tid, value=0.5, rationale="meh"))
    assert a.assessment_id.startswith("a-")
    updated = store.update_assessment(tid, a.assessment_id, {"value": 0.9})
    assert store.get_assessment(tid, a.assessment_id).value == 0.9 == updated.value
    assert store.get_trace_info(tid).assessments[0].rationale == "meh"
    with pytest.raises(ResourceDoesNotExist):
        store.create_assessment(Assessment(name="q", trace_id="tr-nope", value=1))
    store.delete_assessment(tid, a.assessment_id)
    assert store.get_trace_info(tid).assessments == []
    assert store.delete_traces(exp, trace_ids=[tid]) == 1
    with pytest.raises(ResourceDoesNotExist):
        store.get_trace(tid)


def test_unknown_experiment_is_rejected(stores):
    _, store, _ = stores
    with pytest.raises(ResourceDoesNotExist):
        store.log_trace(_info("987654", 1), [])
