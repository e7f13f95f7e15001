"""labkeep.evaluate / labkeep.genai.evaluate: text metrics with known values, errors per row, logging."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

import labkeep
from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.genai import metrics as M
from labkeep.genai.scorers import Bleu, ExactMatch, Feedback, Rouge, scorer

# "the cat sat on the mat" vs reference "the cat is on the mat":
# unigram overlap 5/6, bigram 3/5, trigram 1/4, no 4-gram (sacrebleu's exp smoothing: 1/(2*3)).
BLEU_CAT = (5 / 6 * 3 / 5 * 1 / 4 * 1 / 6) ** 0.25
ROUGE_CAT = {"rouge1": 5 / 6, "rouge2": 3 / 5, "rougeL": 5 / 6}


def test_metric_functions_known_values():
    assert M.bleu("the cat sat on the mat", "the cat is on the mat") == pytest.approx(BLEU_CAT)
    assert M.bleu("same words here ok", "same words here ok") == pytest.approx(1.0)
    assert M.rouge("the cat sat on the mat", "the cat is on the mat") == pytest.approx(ROUGE_CAT)
    assert M.exact_match(" Paris ", "Paris") == 1.0 and M.exact_match("paris", "Paris") == 0.0
    assert M.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == pytest.approx(9.1)
    assert M.count_tokens("Hello, world!") == 4


def _answer(question):
    if question == "explode":
        raise RuntimeError("model is down")
    return {"q1": "the cat sat on the mat", "q2": "Paris"}[question]


def _answers(df):
    """mlflow's convention: the model gets the DataFrame of inputs, returns one answer per row."""
    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["question"]
    return [_answer(q) for q in df["question"]]


def test_evaluate_logs_metrics_table_and_keeps_failed_rows(tracking, tmp_path):
    data = pd.DataFrame(
        {
            "question": ["q1", "q2", "explode"],
            "expected": ["the cat is on the mat", "Paris", "anything"],
        }
    )

    def short(prediction, target):
        return len(prediction) < 10

    with labkeep.start_run() as run, pytest.warns(UserWarning, match=r"1 of 3 .*RuntimeError: model is down"):
        result = labkeep.evaluate(
            _answers,
            data=data,
            targets="expected",
            model_type="question-answering",
            extra_metrics=[short],
            price_per_1k_input_tokens=2.0,
            price_per_1k_output_tokens=4.0,
        )
    m = result.metrics
    assert result.run_id == run.info.run_id
    assert m["exact_match/v1"] == 0.5
    assert m["bleu/v1/mean"] == pytest.approx((BLEU_CAT + 1.0) / 2)
    assert m["rouge1/v1/mean"] == pytest.approx((5 / 6 + 1) / 2)
    assert m["rouge2/v1/mean"] == pytest.approx((0.6 + 0.0) / 2)  # "Paris" has no bigram
    assert m["rougeL/v1/mean"] == pytest.approx((5 / 6 + 1) / 2)
    assert m["short/mean"] == 0.5
    assert m["error_count"] == 1 and m["row_count"] == 3
    # tokens (no usage reported): inputs "q1"/"q2" = 1 token each; outputs 6 and 1 tokens
    assert m["token_count/total"] == 7 and m["input_token_count/total"] == 2
    assert m["cost/total"] == pytest.approx(2 / 1000 * 2.0 + 7 / 1000 * 4.0)
    assert 0 <= m["latency/mean"] < 1 and 0 <= m["latency/p90"] < 1
    table = result.tables["eval_results_table"]
    failed = table[table["question"] == "explode"].iloc[0]
    assert failed["error"] == "RuntimeError: model is down" and pd.isna(failed["outputs"])

    logged = labkeep.get_run(run.info.run_id)
    assert logged.data.metrics["exact_match/v1"] == 0.5
    (ds_input,) = logged.inputs.dataset_inputs
    assert ds_input.dataset.name == "evaluation_data" and len(ds_input.dataset.digest) == 8
    assert {t.key: t.value for t in ds_input.tags} == {"mlflow.data.context": "evaluation"}
    path = labkeep.Client().download_artifacts(
        run.info.run_id, "eval_results_table.json", str(tmp_path / "dl")
    )
    with open(path) as fh:
        stored = json.load(fh)
    assert stored["columns"][0] == "question" and len(stored["data"]) == 3
    assert "eval_results_table.json" in logged.data.tags["mlflow.loggedArtifacts"]


def test_evaluate_starts_a_run_when_none_is_active_and_uses_reported_usage(tracking):
    def model(df):
        answer = {"choices": [{"message": {"content": "ok"}}], "usage": {"prompt_tokens": 11, "completion_tokens": 3}}
        return [answer] * len(df)

    res = labkeep.evaluate(model, data=pd.DataFrame({"q": ["a", "b"]}), model_type="text")
    assert res.metrics["input_token_count/total"] == 22 and res.metrics["token_count/mean"] == 3
    run = labkeep.get_run(res.run_id)
    assert run.info.status == "FINISHED"
    assert labkeep.active_run() is None


def test_evaluate_bad_input(tracking):
    df = pd.DataFrame({"question": ["a"], "answer": ["b"]})
    with pytest.raises(InvalidParameterValue, match="no target column 'expected'.*question, answer"):
        labkeep.evaluate(lambda q: q, data=df, targets="expected")
    with pytest.raises(InvalidParameterValue, match="model_type"):
        labkeep.evaluate(lambda q: q, data=df, model_type="vision")
    with pytest.raises(InvalidParameterValue, match="model \\(function\\) or the name of a predictions"):
        labkeep.evaluate(None, data=df)
    with pytest.raises(InvalidParameterValue, match="DataFrame"):
        labkeep.evaluate(lambda q: q, data="not a frame")


def test_missing_llm_extra_names_the_extra(tracking, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):  # simulate an install without labkeep[llm]
        if name in ("sacrebleu", "rouge_score") or name.startswith("rouge_score."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    M._rouge_scorer.cache_clear()
    try:
        with pytest.raises(LabkeepException, match=r"labkeep\[llm\]"):
            labkeep.evaluate(
                lambda q: q,
                data=pd.DataFrame({"q": ["a"], "t": ["a"]}),
                targets="t",
                model_type="text-summarization",
            )
    finally:
        M._rouge_scorer.cache_clear()


def test_predictions_column_and_batch_metric(tracking):
    df = pd.DataFrame({"q": ["x", "y"], "pred": ["a b", "c"], "gold": ["a b", "d"]})

    def mean_len(predictions, targets):
        return sum(len(p) for p in predictions) / len(predictions)

    res = labkeep.evaluate(
        data=df,
        predictions="pred",
        targets="gold",
        extra_metrics=[mean_len],
        evaluator_config={"metrics": ["exact_match"]},
    )
    assert res.metrics["exact_match/v1"] == 0.5 and res.metrics["mean_len"] == 2.0
    assert "bleu/v1/mean" not in res.metrics and "latency/mean" not in res.metrics


def test_genai_evaluate_scorers_traces_and_feedback(tracking):
    @scorer
    def polite(outputs):
        return Feedback(value="please" in outputs, rationale="looked for 'please'")

    @scorer(name="crashy")
    def crashy(outputs):
        if "boom" in outputs:
            raise ValueError("scorer broke")
        return 1

    def predict_fn(question):
        if question == "fail":
            raise RuntimeError("predict failed")
        return f"{question} please" if question == "hi" else f"{question} boom"

    data = [
        {"inputs": {"question": "hi"}, "expectations": {"expected_response": "hi please"}},
        {"inputs": {"question": "yo"}, "expectations": {"expected_response": "hey"}},
        {"inputs": {"question": "fail"}},
    ]
    res = labkeep.genai.evaluate(
        data=data, predict_fn=predict_fn, scorers=[polite, crashy, ExactMatch(), Bleu(), Rouge()]
    )
    m = res.metrics
    assert m["polite/mean"] == 0.5 and m["exact_match/mean"] == 0.5
    assert m["crashy/mean"] == 1.0 and m["error_count"] == 1
    assert m["rouge/rouge1/mean"] == pytest.approx((1.0 + 0.0) / 2)
    table = res.tables["eval_results"]
    assert table.loc[1, "crashy/error"] == "ValueError: scorer broke"
    assert table.loc[2, "error"] == "RuntimeError: predict failed"
    traces = labkeep.search_traces(run_id=res.run_id, return_type="list")
    assert len(traces) == 3
    by_input = {json.loads(t.info.request_preview)["question"]: t for t in traces}
    assert by_input["fail"].info.state == "ERROR"
    fb = {a.name: a for a in by_input["hi"].info.assessments}
    assert fb["polite"].value is True and fb["polite"].rationale == "looked for 'please'"
    assert fb["polite"].source_type == "CODE"
    assert labkeep.get_run(res.run_id).data.metrics["polite/mean"] == 0.5
    assert not math.isnan(m["latency/p90"])


def test_genai_evaluate_bad_input(tracking):
    with pytest.raises(InvalidParameterValue, match="'inputs' column"):
        labkeep.genai.evaluate(data=[{"question": "a"}], predict_fn=lambda **k: k, scorers=[ExactMatch()])
    with pytest.raises(InvalidParameterValue, match="at least one scorer"):
        labkeep.genai.evaluate(data=[{"inputs": {"a": 1}}], predict_fn=lambda **k: k, scorers=[])


def test_function_model_gets_the_whole_dataframe_as_in_mlflow(tracking):
    """An mlflow-shaped ``lambda df: ...`` model: one call per batch, exact_match and friends logged."""
    calls = []
    capitals = {"France": "Paris", "Italy": "Rome", "Spain": "Madrid"}

    def model(df):
        calls.append(len(df))
        return df["country"].map(capitals)  # a Series, as mlflow users often return

    data = pd.DataFrame({"country": ["France", "Italy", "Spain"], "answer": ["Paris", "Rome", "Lisbon"]})
    res = labkeep.evaluate(model=model, data=data, targets="answer", model_type="question-answering")
    assert calls == [3]
    m = res.metrics
    assert m["exact_match/v1"] == pytest.approx(2 / 3) and m["error_count"] == 0
    assert m["rouge1/v1/mean"] == pytest.approx(2 / 3) and "bleu/v1/mean" in m
    assert labkeep.get_run(res.run_id).data.metrics["exact_match/v1"] == pytest.approx(2 / 3)
    assert list(res.tables["eval_results_table"]["outputs"]) == ["Paris", "Rome", "Madrid"]

    calls.clear()
    res = labkeep.evaluate(model, data=data, targets="answer", evaluator_config={"batch_size": 2})
    assert calls == [2, 1] and res.metrics["exact_match/v1"] == pytest.approx(2 / 3)


def test_pyfunc_model_and_dataframe_output(tracking):
    class Echo(labkeep.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return pd.DataFrame({"outputs": model_input["q"].str.upper(), "extra": 1})

    with labkeep.start_run():
        info = labkeep.pyfunc.log_model(name="echo", python_model=Echo())
    data = pd.DataFrame({"q": ["a", "b"], "t": ["A", "x"]})
    for model in (info.model_uri, labkeep.pyfunc.load_model(info.model_uri)):
        res = labkeep.evaluate(model, data=data, targets="t", evaluator_config={"metrics": ["exact_match"]})
        assert res.metrics["exact_match/v1"] == 0.5


def test_every_row_failing_raises_the_first_error(tracking):
    def broken(df):
        raise ValueError("no model here")

    with pytest.raises(LabkeepException, match=r"every one of the 2 .*ValueError: no model here") as err:
        labkeep.evaluate(broken, data=pd.DataFrame({"q": ["a", "b"]}))
    assert isinstance(err.value.__cause__, ValueError)
    # a per-row function (the genai predict_fn shape) gets a DataFrame and fails the same way
    with pytest.raises(LabkeepException, match="every one of the 2"):
        labkeep.evaluate({"a": "x"}.__getitem__, data=pd.DataFrame({"q": ["a", "b"]}))
    with pytest.raises(InvalidParameterValue, match="batch_size"):
        labkeep.evaluate(lambda df: df, data=pd.DataFrame({"q": ["a"]}), evaluator_config={"batch_size": 0})
