"""openai autolog: the real ``openai`` client pointed at the loopback test server (fake_llm.py)."""

from __future__ import annotations

import pytest
from aio import run_coroutine

import labkeep

openai = pytest.importorskip("openai")


@pytest.fixture
def autolog():
    from labkeep.genai import openai_autolog

    labkeep.openai.autolog(prices={"gpt-test": (1.0, 2.0)})  # mlflow.openai.autolog's spelling
    yield openai_autolog
    openai_autolog.autolog(disable=True)


def test_chat_completion_becomes_a_span_with_usage_and_cost(tracking, fake_llm, autolog):
    client = openai.OpenAI(base_url=fake_llm.base_url, api_key="k", max_retries=0)

    @labkeep.trace
    def ask(q):
        r = client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": q}], temperature=0.3, max_tokens=20
        )
        return r.choices[0].message.content

    with labkeep.start_run() as run:
        assert ask("hello there") == "echo: hello there"
    trace = labkeep.get_trace(labkeep.get_last_active_trace_id())
    assert trace.info.run_id == run.info.run_id
    spans = {s.name: s for s in trace.data.spans}
    chat = spans["ChatCompletion"]
    assert chat.parent_id == spans["ask"].span_id and chat.span_type == "CHAT_MODEL"
    assert chat.attributes["mlflow.llm.model"] == "gpt-test"
    assert chat.attributes["llm.params"] == {"temperature": 0.3, "max_tokens": 20}
    assert chat.inputs["messages"] == [{"role": "user", "content": "hello there"}]
    assert chat.outputs["choices"][0]["message"]["content"] == "echo: hello there"
    # fake server: prompt tokens = 2 words, completion = 3 words
    assert chat.attributes["mlflow.chat.tokenUsage"] == {
        "input_tokens": 2,
        "output_tokens": 3,
        "total_tokens": 5,
    }
    assert chat.attributes["mlflow.llm.cost"]["total_cost"] == pytest.approx(2 / 1000 * 1.0 + 3 / 1000 * 2.0)
    assert trace.info.token_usage["total_tokens"] == 5
    assert chat.duration_ms >= 0


def test_async_client_and_errors_and_disable(tracking, fake_llm, autolog):
    aclient = openai.AsyncOpenAI(base_url=fake_llm.base_url, api_key="k", max_retries=0)

    async def go():
        return await aclient.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])

    assert run_coroutine(go()).choices[0].message.content == "echo: hi"
    span = labkeep.get_trace(labkeep.get_last_active_trace_id()).data.spans[0]
    assert span.name == "ChatCompletion" and "mlflow.llm.cost" not in span.attributes  # no price for "m"

    client = openai.OpenAI(base_url=fake_llm.base_url, api_key="k", max_retries=0)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "HTTP500"}])
    failed = labkeep.get_trace(labkeep.get_last_active_trace_id())
    assert failed.info.state == "ERROR"

    autolog.autolog(disable=True)
    before = len(labkeep.search_traces())
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "quiet"}])
    assert len(labkeep.search_traces()) == before


def _spans(trace_id=None):
    trace = labkeep.get_trace(trace_id or labkeep.get_last_active_trace_id())
    return trace, {s.name: s for s in trace.data.spans}


def test_streamed_chat_completion_is_collected_into_the_span(tracking, fake_llm, autolog):
    client = openai.OpenAI(base_url=fake_llm.base_url, api_key="k", max_retries=0)

    @labkeep.trace
    def ask(q):
        stream = client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": q}],
            stream=True,
            stream_options={"include_usage": True},
        )
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    assert ask("stream me please") == "echo: stream me please"
    trace, spans = _spans()
    chat = spans["ChatCompletion"]
    assert chat.parent_id == spans["ask"].span_id and chat.status == "OK"
    assert chat.inputs["stream"] is True
    assert chat.outputs["choices"][0]["message"] == {"role": "assistant", "content": "echo: stream me please"}
    assert chat.outputs["choices"][0]["finish_reason"] == "stop"
    assert chat.attributes["mlflow.llm.stream.chunks"] == 7  # role, 4 words, finish, usage
    assert chat.attributes["mlflow.chat.tokenUsage"]["total_tokens"] == 3 + 4
    assert chat.attributes["mlflow.llm.cost"]["total_cost"] == pytest.approx(3 / 1000 + 4 / 1000 * 2.0)
    assert trace.info.token_usage["total_tokens"] == 7


def test_stream_as_root_span_ends_when_the_with_block_closes(tracking, fake_llm, autolog):
    client = openai.OpenAI(base_url=fake_llm.base_url, api_key="k", max_retries=0)
    with client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "a b"}], stream=True
    ) as stream:
        first = next(iter(stream))
        assert first.choices[0].delta.role == "assistant"
        assert labkeep.get_last_active_trace_id() is None  # still streaming: not stored yet
    trace, spans = _spans()
    chat = spans["ChatCompletion"]
    assert trace.info.state == "OK" and chat.attributes["mlflow.llm.stream.chunks"] == 1
    assert "mlflow.chat.tokenUsage" not in chat.attributes  # no usage chunk was asked for


def test_async_stream_and_responses_api(tracking, fake_llm, autolog):
    aclient = openai.AsyncOpenAI(base_url=fake_llm.base_url, api_key="k", max_retries=0)

    async def go():
        stream = await aclient.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "async hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        return "".join(parts)

    assert run_coroutine(go()) == "echo: async hi"
    _, spans = _spans()
    assert spans["ChatCompletion"].outputs["choices"][0]["message"]["content"] == "echo: async hi"
    assert spans["ChatCompletion"].attributes["mlflow.chat.tokenUsage"]["input_tokens"] == 2

    client = openai.OpenAI(base_url=fake_llm.base_url, api_key="k", max_retries=0)
    resp = client.responses.create(model="gpt-test", input="one two three")
    assert resp.output_text == "echo: one two three"
    _, spans = _spans()
    assert spans["Response"].span_type == "CHAT_MODEL"
    assert spans["Response"].attributes["mlflow.chat.tokenUsage"] == {
        "input_tokens": 3,
        "output_tokens": 4,
        "total_tokens": 7,
    }

    events = list(client.responses.create(model="gpt-test", input="streamed words", stream=True))
    assert events[-1].type == "response.completed"
    _, spans = _spans()
    span = spans["Response"]
    assert span.outputs["output"][0]["content"][0]["text"] == "echo: streamed words"
    assert span.attributes["mlflow.chat.tokenUsage"]["total_tokens"] == 5
    assert span.attributes["mlflow.llm.cost"]["total_cost"] == pytest.approx(2 / 1000 + 3 / 1000 * 2.0)

    async def go_responses():
        stream = await aclient.responses.create(model="m", input="x", stream=True)
        return [e.type async for e in stream]

    assert run_coroutine(go_responses())[-1] == "response.completed"
    _, spans = _spans()
    assert spans["Response"].attributes["mlflow.chat.tokenUsage"]["total_tokens"] == 3


def test_failed_stream_marks_the_span(tracking, fake_llm, autolog):
    client = openai.OpenAI(base_url=fake_llm.base_url, api_key="k", max_retries=0)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "HTTP500"}], stream=True)
    trace, _ = _spans()
    assert trace.info.state == "ERROR"


def test_stream_helpers_are_traced(tracking, fake_llm, autolog):
    client = openai.OpenAI(base_url=fake_llm.base_url, api_key="k", max_retries=0)
    with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "x y"}]) as stream:
        assert stream.get_final_completion().choices[0].message.content == "echo: x y"
    _, spans = _spans()
    assert spans["ChatCompletion"].outputs["choices"][0]["message"]["content"] == "echo: x y"

    with client.responses.stream(model="gpt-test", input="p q") as stream:
        assert stream.get_final_response().output_text == "echo: p q"
    _, spans = _spans()
    assert spans["Response"].attributes["mlflow.chat.tokenUsage"]["total_tokens"] == 5
