"""LangChain tracing and the langchain flavor: real chains (langchain-core, langchain-openai's
ChatOpenAI) against the loopback OpenAI-compatible server of fake_llm.py, and a small keyword
retriever over in-memory documents."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest
from aio import run_coroutine

import labkeep

pytestmark = pytest.mark.langchain
pytest.importorskip("langchain_core")
pytest.importorskip("langchain_openai")

from langchain_core.callbacks import CallbackManagerForRetrieverRun  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from langchain_core.retrievers import BaseRetriever  # noqa: E402
from langchain_core.runnables import RunnableLambda, RunnablePassthrough  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402

DOCS = [
    Document(page_content="Paris is the capital of France.", metadata={"id": 1}),
    Document(page_content="Rome is the capital of Italy.", metadata={"id": 2}),
    Document(page_content="Bread is made of flour and water.", metadata={"id": 3}),
]


class KeywordRetriever(BaseRetriever):
    """Documents ranked by how many query words they share (a real, if tiny, retriever)."""

    docs: list[Document]
    k: int = 1

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun):
        words = set(query.lower().replace("?", "").split())

        def score(doc: Document) -> int:
            return len(words & set(doc.page_content.lower().rstrip(".").split()))

        return sorted(self.docs, key=score, reverse=True)[: self.k]


@pytest.fixture
def autolog():
    labkeep.langchain.autolog()
    yield
    labkeep.langchain.autolog(disable=True)


def _chat(fake_llm, **kw):
    return ChatOpenAI(model="gpt-test", base_url=fake_llm.base_url, api_key="k", max_retries=0, **kw)


def _rag_chain(fake_llm):
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from the context."), ("user", "{context} Q: {question}")]
    )
    retriever = KeywordRetriever(docs=DOCS)
    fmt = RunnableLambda(lambda docs: " ".join(d.page_content for d in docs)).with_config(run_name="join_docs")
    return (
        {"context": retriever | fmt, "question": RunnablePassthrough()}
        | prompt
        | _chat(fake_llm, temperature=0.2)
        | StrOutputParser()
    )


def _spans(trace):
    return {s.name: s for s in trace.data.spans}


def test_rag_chain_is_one_trace_with_retriever_and_model_spans(tracking, fake_llm, autolog):
    chain = _rag_chain(fake_llm)
    with labkeep.start_run() as run:
        answer = chain.invoke("capital of Italy?")
    assert answer == "echo: Rome is the capital of Italy. Q: capital of Italy?"
    traces = labkeep.search_traces(return_type="list")
    assert len(traces) == 1
    trace = labkeep.get_trace(traces[0].info.trace_id)
    assert trace.info.state == "OK" and trace.info.run_id == run.info.run_id
    spans = _spans(trace)
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert root.name == "RunnableSequence" and root.span_type == "CHAIN"
    assert root.inputs == "capital of Italy?" and root.outputs == answer
    retriever = spans["KeywordRetriever"]
    assert retriever.span_type == "RETRIEVER" and retriever.inputs == {"query": "capital of Italy?"}
    assert retriever.outputs[0]["page_content"] == "Rome is the capital of Italy."
    assert spans["join_docs"].parent_id is not None
    chat = spans["ChatOpenAI"]
    assert chat.span_type == "CHAT_MODEL" and chat.parent_id == root.span_id
    assert chat.inputs["messages"][1] == {
        "role": "user",
        "content": "Rome is the capital of Italy. Q: capital of Italy?",
    }
    assert chat.attributes["mlflow.llm.model"] == "gpt-test"
    assert chat.attributes["invocation_params"]["temperature"] == 0.2
    # fake server: prompt = words of both messages (4 + 10), completion = words of the answer (11)
    usage = chat.attributes["mlflow.chat.tokenUsage"]
    assert usage == {"input_tokens": 14, "output_tokens": 11, "total_tokens": 25}
    assert trace.info.token_usage["total_tokens"] == 25
    assert chat.outputs["generations"][0][0]["message"]["content"] == answer
    assert spans["StrOutputParser"].outputs == answer


def test_tools_errors_nesting_and_disable(tracking, fake_llm, autolog):
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @tool
    def broken(x: str) -> str:
        """Always fails."""
        raise RuntimeError("tool is down")

    @labkeep.trace(name="agent_step")
    def step():
        return add.invoke({"a": 2, "b": 3})

    assert step() == 5
    trace = labkeep.get_trace(labkeep.get_last_active_trace_id())
    spans = _spans(trace)
    assert spans["add"].span_type == "TOOL" and spans["add"].parent_id == spans["agent_step"].span_id
    assert spans["add"].inputs == {"a": 2, "b": 3} and spans["add"].outputs == 5

    with pytest.raises(RuntimeError, match="tool is down"):
        broken.invoke({"x": "y"})
    failed = labkeep.get_trace(labkeep.get_last_active_trace_id())
    assert failed.info.state == "ERROR"
    (span,) = failed.data.spans
    assert span.status == "ERROR" and "tool is down" in span.status_message

    with pytest.raises(Exception):  # noqa: B017 - the HTTP 500 surfaces as openai's error class
        _chat(fake_llm).invoke("HTTP500")
    err = labkeep.get_trace(labkeep.get_last_active_trace_id())
    assert err.info.state == "ERROR" and err.data.spans[0].span_type == "CHAT_MODEL"

    labkeep.langchain.autolog(disable=True)
    before = len(labkeep.search_traces(return_type="list"))
    add.invoke({"a": 1, "b": 1})
    assert len(labkeep.search_traces(return_type="list")) == before


def test_async_and_streaming_chains(tracking, fake_llm, autolog):
    chain = ChatPromptTemplate.from_template("say {word}") | _chat(fake_llm) | StrOutputParser()
    assert run_coroutine(chain.ainvoke({"word": "hi"})) == "echo: say hi"
    trace = labkeep.get_trace(labkeep.get_last_active_trace_id())
    assert len(trace.data.spans) == 4 and trace.info.token_usage["total_tokens"] == 2 + 3

    streaming = ChatPromptTemplate.from_template("say {word}") | _chat(fake_llm, stream_usage=True)
    pieces = [c.content for c in streaming.stream({"word": "streamed"})]
    assert "".join(pieces) == "echo: say streamed"
    trace = labkeep.get_trace(labkeep.get_last_active_trace_id())
    chat = _spans(trace)["ChatOpenAI"]
    assert chat.outputs["generations"][0][0]["text"] == "echo: say streamed"
    assert [e["name"] for e in chat.events].count("new_token") >= 3
    assert chat.attributes["mlflow.chat.tokenUsage"]["total_tokens"] == 2 + 3


CHAIN_FILE = textwrap.dedent(
    """
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_openai import ChatOpenAI

    import labkeep
    from labkeep.models.code import model_config

    cfg = model_config()
    llm = ChatOpenAI(model="gpt-test", base_url=cfg["base_url"], api_key="k", max_retries=0)
    chain = ChatPromptTemplate.from_template("Q: {question}") | llm | StrOutputParser()
    labkeep.models.set_model(chain)
    """
)


def test_log_model_from_code_load_predict_and_evaluate(tracking, fake_llm, tmp_path, autolog):
    code = tmp_path / "chain.py"
    code.write_text(CHAIN_FILE)
    with labkeep.start_run():
        info = labkeep.langchain.log_model(
            lc_model=str(code),
            name="qa_chain",
            model_config={"base_url": fake_llm.base_url},
            input_example={"question": "hello"},
        )
    meta = labkeep.models.get_model_info(info.model_uri)
    py = meta.flavors["python_function"]
    assert py["loader_module"] == "mlflow.langchain" and py["model_code_path"].endswith("chain.py")
    assert py["config"] == {"base_url": fake_llm.base_url} and py["streamable"] is True
    assert "langchain_version" in meta.flavors["langchain"]

    chain = labkeep.langchain.load_model(info.model_uri)
    assert chain.invoke({"question": "ping"}) == "echo: Q: ping"
    model = labkeep.pyfunc.load_model(info.model_uri)
    assert model.predict(pd.DataFrame({"question": ["a", "b"]})) == ["echo: Q: a", "echo: Q: b"]

    data = pd.DataFrame({"question": ["a", "b"], "expected": ["echo: Q: a", "nope"]})
    res = labkeep.evaluate(info.model_uri, data=data, targets="expected", model_type="question-answering")
    assert res.metrics["exact_match/v1"] == 0.5

    with pytest.raises(labkeep.exceptions.InvalidParameterValue, match="saved as code"):
        labkeep.langchain.save_model(chain, str(tmp_path / "pickled"))
    bad = tmp_path / "no_set_model.py"
    bad.write_text("x = 1\n")
    with pytest.raises(labkeep.exceptions.InvalidParameterValue, match="set_model"):
        labkeep.langchain.save_model(str(bad), str(tmp_path / "bad"))


def test_langchain_traces_show_in_the_ui(tmp_path, fake_llm, autolog):
    import warnings

    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

    from labkeep.server.app import create_app
    from labkeep.server.settings import ServerSettings

    uri = f"sqlite:///{tmp_path}/ui.db"
    labkeep.set_tracking_uri(uri)
    exp = labkeep.set_experiment("lc-ui")
    _rag_chain(fake_llm).invoke("capital of France?")
    trace_id = labkeep.get_last_active_trace_id()
    app = create_app(ServerSettings(backend_store_uri=uri, artifacts_destination=str(tmp_path / "art")))
    with TestClient(app, base_url="http://localhost") as client:
        page = client.get(f"/experiments/{exp.experiment_id}/traces")
        assert page.status_code == 200 and f"/traces/{trace_id}" in page.text
        data = client.get(f"/traces/{trace_id}.json").json()
        names = [(s["name"], s["depth"]) for s in data["spans"]]
        assert names[0] == ("RunnableSequence", 0) and ("ChatOpenAI", 1) in names
        assert ("KeywordRetriever", 3) in names
        assert client.get(f"/traces/{trace_id}").status_code == 200


def test_langchain_trace_reaches_a_labkeep_server(tmp_path, fake_llm, autolog):
    import httpx

    from tests.server.helpers import running_server

    args = ["--backend-store-uri", f"sqlite:///{tmp_path}/s.db", "--artifacts-destination", str(tmp_path / "a")]
    with running_server(args, cwd=str(tmp_path)) as (url, _proc):
        labkeep.set_tracking_uri(url)
        exp = labkeep.set_experiment("lc-server")
        assert _rag_chain(fake_llm).invoke("bread?").startswith("echo: Bread is made")
        labkeep.flush_trace_async_logging()
        (trace,) = labkeep.search_traces(experiment_ids=[exp.experiment_id], return_type="list")
        full = labkeep.get_trace(trace.info.trace_id)
        assert {s.span_type for s in full.data.spans} >= {"CHAIN", "RETRIEVER", "CHAT_MODEL"}
        page = httpx.get(f"{url}/experiments/{exp.experiment_id}/traces", timeout=10)
        assert page.status_code == 200 and trace.info.trace_id in page.text


def test_with_openai_autolog_the_client_span_nests_and_tokens_count_once(tracking, fake_llm, autolog):
    labkeep.openai.autolog()
    try:
        assert _chat(fake_llm).invoke("one two").content == "echo: one two"
        trace = labkeep.get_trace(labkeep.get_last_active_trace_id())
        streamed = "".join(c.content for c in _chat(fake_llm, stream_usage=True).stream("three four"))
    finally:
        labkeep.openai.autolog(disable=True)
    spans = _spans(trace)
    assert spans["ChatCompletion"].parent_id == spans["ChatOpenAI"].span_id
    assert spans["ChatCompletion"].attributes["mlflow.chat.tokenUsage"]["total_tokens"] == 5
    assert trace.info.token_usage["total_tokens"] == 5  # not 10
    assert streamed == "echo: three four"
    spans = _spans(labkeep.get_trace(labkeep.get_last_active_trace_id()))
    client_span = spans["ChatCompletion"]  # langchain-openai consumed the wrapped openai stream
    assert client_span.parent_id == spans["ChatOpenAI"].span_id
    assert client_span.outputs["choices"][0]["message"]["content"] == "echo: three four"
