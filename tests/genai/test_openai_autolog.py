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
