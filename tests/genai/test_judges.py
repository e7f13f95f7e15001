"""LLM judges against the loopback OpenAI-compatible test server (fake_llm.py; no internet, no model).

The fake server's answers are deterministic, including malformed JSON and slow replies.
"""

from __future__ import annotations

import pandas as pd
import pytest

import labkeep
from labkeep.exceptions import InvalidParameterValue
from labkeep.genai import judges


@pytest.fixture
def judge_env(fake_llm, monkeypatch):
    monkeypatch.setenv("LABKEEP_JUDGE_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("LABKEEP_JUDGE_API_KEY", "test-key")
    monkeypatch.setenv("LABKEEP_JUDGE_MODEL", "judge-model")
    return fake_llm


def test_correctness_judge_over_http_records_score_and_rationale(tracking, judge_env):
    data = pd.DataFrame({"question": ["capital?", "sum?"], "expected": ["Paris", "4"]})
    answers = {"capital?": "It is Paris.", "sum?": "five"}
    res = labkeep.evaluate(
        lambda df: [answers[q] for q in df["question"]],
        data=data,
        targets="expected",
        extra_metrics=[judges.correctness()],
        evaluator_config={"metrics": ["exact_match"]},
    )
    table = res.tables["eval_results_table"]
    assert list(table["correctness"]) == [5, 1]
    assert list(table["correctness/rationale"]) == ["matches", "does not match"]
    assert res.metrics["correctness/mean"] == 3.0
    req = judge_env.requests[0]
    assert req["auth"] == "Bearer test-key" and req["body"]["model"] == "judge-model"
    assert req["body"]["temperature"] == 0


def test_malformed_and_timed_out_judge_rows_are_marked_and_evaluation_goes_on(tracking, judge_env):
    judge_env.slow_seconds = 1.5
    judge = judges.make_judge(
        "custom", "Grade {{outputs}} for the request {{inputs}}. Mention score.", timeout=0.5
    )
    data = pd.DataFrame({"q": ["MALFORMED please", "SLOW please", "fine"]})
    res = labkeep.evaluate(lambda q: q, data=data, extra_metrics=[judge])
    table = res.tables["eval_results_table"]
    assert "Malformed judge answer" in table.loc[0, "custom/error"]
    assert "timed out" in table.loc[1, "custom/error"]
    assert pd.isna(table.loc[2, "custom/error"]) and table.loc[2, "custom"] == 1
    assert res.metrics["custom/error_count"] == 2
    assert res.metrics["row_count"] == 3


def test_relevance_judge_with_a_callable_and_genai_evaluate(tracking):
    prompts_seen = []

    def my_judge(prompt):
        prompts_seen.append(prompt)
        return '{"score": 4, "rationale": "on topic"}' if "weather" in prompt else "not json at all"

    res = labkeep.genai.evaluate(
        data=[{"inputs": {"q": "weather today?"}}, {"inputs": {"q": "other"}}],
        predict_fn=lambda q: f"answer about {q}",
        scorers=[judges.relevance(judge=my_judge)],
    )
    assert res.metrics["relevance/mean"] == 4.0
    assert "Request:" in prompts_seen[0] and "Response:" in prompts_seen[0]
    traces = labkeep.search_traces(run_id=res.run_id, return_type="list")
    feedback = [a for t in traces for a in t.info.assessments]
    assert {a.source_type for a in feedback} == {"LLM_JUDGE"}
    assert any(a.error and "Malformed" in a.error["error_message"] for a in feedback)


def test_judge_without_endpoint_or_expectations():
    with pytest.raises(InvalidParameterValue, match="LABKEEP_JUDGE_BASE_URL"):
        judges.relevance()(inputs="a", outputs="b")  # noqa: B018 - endpoint is resolved on first use
    fb = judges.correctness(judge=lambda p: '{"score": 5}')(inputs="a", outputs="b", expectations=None)
    assert "needs an expected answer" in fb.error


def test_parse_judge_answer():
    assert judges.parse_judge_answer('Sure! {"score": "3", "rationale": "ok"}').value == 3
    assert judges.parse_judge_answer({"score": 2}).value == 2
    assert judges.parse_judge_answer('{"rating": 2}').error.startswith("Malformed judge answer (no 'score')")


def test_mlflow_named_judge_scorers(tracking):
    from labkeep.genai.scorers import Correctness, Guidelines, RelevanceToQuery

    seen = []

    def judge(prompt):
        seen.append(prompt)
        return '{"score": 4, "rationale": "ok"}'

    res = labkeep.genai.evaluate(
        data=[{"inputs": {"q": "hi"}, "expectations": {"expected_response": "hello"}}],
        predict_fn=lambda q: "hello",
        scorers=[
            Correctness(judge=judge),
            RelevanceToQuery(judge=judge),
            Guidelines("polite", ["be polite"], judge=judge),
        ],
    )
    assert {k: v for k, v in res.metrics.items() if k.endswith("/mean") and "latency" not in k} == {
        "correctness/mean": 4.0,
        "relevance_to_query/mean": 4.0,
        "polite/mean": 4.0,
    }
    assert any("- be polite" in p for p in seen)
