"""Tracing on the embedded store: decorator, spans, nesting, errors, truncation, search, feedback."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from aio import run_coroutine

import labkeep
from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist


def test_decorator_and_spans_nest_and_link_to_run(tracking):
    @labkeep.trace(span_type="LLM")
    def answer(question, temperature=0.1):
        with labkeep.start_span("retrieve", span_type="RETRIEVER") as span:
            span.set_inputs({"q": question})
            span.set_outputs(["doc1", "doc2"])
            span.set_attribute("k", 2)
        return f"answer to {question}"

    with labkeep.start_run() as run:
        assert answer("why?") == "answer to why?"
    trace = labkeep.get_trace(labkeep.get_last_active_trace_id())
    info = trace.info
    assert info.state == "OK"
    assert info.experiment_id == tracking.experiment_id
    assert info.run_id == run.info.run_id
    assert info.name == "answer"
    assert info.execution_duration is not None and info.execution_duration >= 0
    spans = {s.name: s for s in trace.data.spans}
    root, child = spans["answer"], spans["retrieve"]
    assert root.parent_id is None and child.parent_id == root.span_id
    assert root.inputs == {"question": "why?", "temperature": 0.1}
    assert root.outputs == "answer to why?"
    assert root.span_type == "LLM" and child.span_type == "RETRIEVER"
    assert child.inputs == {"q": "why?"} and child.outputs == ["doc1", "doc2"]
    assert child.attributes["k"] == 2
    assert root.start_time_ns <= child.start_time_ns <= child.end_time_ns <= root.end_time_ns


def test_exception_is_recorded_and_reraised(tracking):
    @labkeep.trace
    def fails(x):
        raise ValueError(f"bad {x}")

    with pytest.raises(ValueError, match="bad 3"):
        fails(3)
    trace = labkeep.get_trace(labkeep.get_last_active_trace_id())
    assert trace.info.state == "ERROR"
    (span,) = trace.data.spans
    assert span.status == "ERROR" and "bad 3" in span.status_message
    assert span.events[0]["name"] == "exception"


def test_async_and_generator_functions(tracking):
    @labkeep.trace
    async def inner(x):
        await asyncio.sleep(0)
        return x * 2

    @labkeep.trace
    async def outer(x):
        return await inner(x) + 1

    assert run_coroutine(outer(4)) == 9
    trace = labkeep.get_trace(labkeep.get_last_active_trace_id())
    names = {s.name: s for s in trace.data.spans}
    assert names["inner"].parent_id == names["outer"].span_id
    assert names["outer"].outputs == 9

    @labkeep.trace
    def tokens(n):
        yield from range(n)

    assert list(tokens(3)) == [0, 1, 2]
    trace = labkeep.get_trace(labkeep.get_last_active_trace_id())
    assert trace.data.spans[0].outputs == [0, 1, 2]


def test_concurrent_threads_get_separate_traces(tracking):
    @labkeep.trace
    def work(i):
        with labkeep.start_span(f"step-{i}"):
            pass
        return i

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    traces = labkeep.search_traces(return_type="list")
    assert len(traces) == 4
    for t in traces:
        assert len(t.spans) == 2
        root = [s for s in t.data.spans if s.parent_id is None][0]
        (child,) = [s for s in t.data.spans if s.parent_id is not None]
        assert child.name == f"step-{root.outputs}"


def test_oversized_payload_is_truncated_with_marker(tracking, monkeypatch):
    monkeypatch.setenv("LABKEEP_TRACE_MAX_PAYLOAD_CHARS", "1000")

    @labkeep.trace
    def big(text):
        return text

    big("x" * 50_000)
    span = labkeep.get_trace(labkeep.get_last_active_trace_id()).data.spans[0]
    assert isinstance(span.outputs, str)
    assert len(span.outputs) < 1200
    assert "truncated by labkeep: 1000 of 50002 characters kept" in span.outputs
    assert "truncated by labkeep" in span.inputs


def test_token_usage_and_cost_roll_up_to_the_trace(tracking):
    with labkeep.start_span("chain") as root:
        for _ in range(2):
            with labkeep.start_span("llm", span_type="CHAT_MODEL") as s:
                s.set_token_usage(10, 4)
                s.set_cost(0.01, 0.02)
        root.set_outputs("done")
    info = labkeep.get_trace(labkeep.get_last_active_trace_id()).info
    assert info.token_usage == {"input_tokens": 20, "output_tokens": 8, "total_tokens": 28}
    assert (
        info.trace_metadata["mlflow.trace.cost"]
        == '{"input_cost": 0.02, "output_cost": 0.04, "total_cost": 0.06}'
    )


def test_search_filters_order_and_dataframe(tracking):
    @labkeep.trace(name="alpha")
    def a(x):
        return x

    @labkeep.trace(name="beta")
    def b(x):
        return x

    for fn, x in ((a, 1), (b, 2), (a, 3)):
        fn(x)
        time.sleep(0.003)  # distinct millisecond timestamps, so "newest first" is well defined
    labkeep.set_trace_tag(labkeep.get_last_active_trace_id(), "team", "red")
    df = labkeep.search_traces()
    assert list(df["name"]) == ["alpha", "beta", "alpha"]  # newest first
    assert df.iloc[0]["response"] == 3
    names = [t.info.name for t in labkeep.search_traces(filter_string="name = 'alpha'", return_type="list")]
    assert names == ["alpha", "alpha"]
    tagged = labkeep.search_traces(filter_string="tags.team = 'red'", return_type="list")
    assert [t.info.request_preview for t in tagged] == ['{"x": 3}']
    assert len(labkeep.search_traces(filter_string="span.name LIKE 'be%'", return_type="list")) == 1
    assert (
        len(labkeep.search_traces(filter_string="status = 'OK' AND name IN ('beta')", return_type="list"))
        == 1
    )
    oldest = labkeep.search_traces(order_by=["timestamp_ms ASC"], max_results=1, return_type="list")
    assert oldest[0].data.spans[0].outputs == 1
    with pytest.raises(InvalidParameterValue, match="unknown attribute"):
        labkeep.search_traces(filter_string="attributes.bogus = 'x'")
    with pytest.raises(InvalidParameterValue, match="OR is not supported"):
        labkeep.search_traces(filter_string="name = 'a' OR name = 'b'")
    empty = labkeep.search_traces(filter_string="name = 'nothing'")
    assert len(empty) == 0 and "trace_id" in empty.columns


def test_feedback_tags_and_missing_trace(tracking):
    @labkeep.trace
    def f():
        return 1

    f()
    tid = labkeep.get_last_active_trace_id()
    fb = labkeep.log_feedback(
        tid, name="quality", value=4, rationale="good", source={"source_type": "HUMAN", "source_id": "ann"}
    )
    labkeep.log_expectation(tid, name="expected_response", value="1")
    info = labkeep.get_trace(tid).info
    kinds = {(a.name, a.kind, a.value) for a in info.assessments}
    assert kinds == {("quality", "feedback", 4), ("expected_response", "expectation", "1")}
    by_name = {a.name: a for a in info.assessments}
    assert fb.assessment_id.startswith("a-") and by_name["quality"].source_id == "ann"
    assert len(labkeep.search_traces(filter_string="feedback.quality > 3", return_type="list")) == 1
    assert len(labkeep.search_traces(filter_string="feedback.quality > 4", return_type="list")) == 0
    labkeep.set_trace_tag(tid, "k", "v")
    labkeep.delete_trace_tag(tid, "k")
    assert "k" not in labkeep.get_trace(tid).info.tags
    with pytest.raises(ResourceDoesNotExist):
        labkeep.get_trace("tr-" + "0" * 32)
    with pytest.raises(ResourceDoesNotExist):
        labkeep.set_trace_tag("tr-" + "0" * 32, "k", "v")


def test_update_current_trace_and_disable(tracking):
    from labkeep.genai.tracing import fluent

    @labkeep.trace
    def f():
        labkeep.update_current_trace(tags={"session": "s1"}, metadata={"user": "u1"})
        return 1

    f()
    info = labkeep.get_trace(labkeep.get_last_active_trace_id()).info
    assert info.tags["session"] == "s1" and info.trace_metadata["user"] == "u1"
    fluent.disable()
    try:
        before = len(labkeep.search_traces())
        assert f() == 1
        with labkeep.start_span("x") as span:
            span.set_inputs("ignored")
        assert len(labkeep.search_traces()) == before
    finally:
        fluent.enable()


def test_forked_children_get_their_own_trace_ids(tracking):
    import multiprocessing

    @labkeep.trace
    def work(i):
        return i

    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=work, args=(i,)) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    traces = labkeep.search_traces(return_type="list")
    assert sorted(t.data.spans[0].outputs for t in traces) == [0, 1, 2]


def test_span_status_accepts_names_and_rejects_others(tracking):
    with labkeep.start_span("s") as span:
        span.set_status("error", "custom failure")
    stored = labkeep.get_trace(labkeep.get_last_active_trace_id()).data.spans[0]
    assert stored.status == "ERROR" and stored.status_message == "custom failure"
    with labkeep.start_span("t") as span:
        with pytest.raises(InvalidParameterValue, match="OK, ERROR or UNSET"):
            span.set_status("MAYBE")


def test_async_export_batches_and_flushes_before_reads(tracking, monkeypatch):
    monkeypatch.setenv("LABKEEP_ASYNC_TRACE_LOGGING", "true")

    @labkeep.trace
    def work(i):
        return i

    with labkeep.start_run() as run:
        for i in range(300):
            work(i)
    traces = labkeep.search_traces(max_results=1000, return_type="list")  # flushes the queue first
    assert sorted(t.data.spans[0].outputs for t in traces) == list(range(300))
    assert {t.info.run_id for t in traces} == {run.info.run_id}
    work("last")
    assert labkeep.get_trace(labkeep.get_last_active_trace_id()).data.spans[0].outputs == "last"


def test_async_export_survives_a_failing_batch(tracking, monkeypatch, caplog):
    from labkeep.genai.tracing.entities import TraceInfo
    from labkeep.genai.tracing.export import exporter

    class BrokenStore:  # a store whose writes fail (e.g. the database went away)
        def log_traces(self, items):
            raise RuntimeError("database is gone")

    monkeypatch.setenv("LABKEEP_ASYNC_TRACE_LOGGING", "true")

    @labkeep.trace
    def work():
        return 1

    with caplog.at_level("WARNING", logger="labkeep.tracing"):
        exporter().submit(BrokenStore(), TraceInfo("tr-x", "0", 0), [])
        labkeep.flush_trace_async_logging()
        assert work() == 1
        assert len(labkeep.search_traces()) == 1  # the exporter kept going
    assert "could not store 1 trace(s): database is gone" in caplog.text
