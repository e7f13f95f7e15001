"""LLM experiment helpers (generation params, prompt artifacts) and the trace-page data."""

from __future__ import annotations

import json

import pytest

import labkeep
from labkeep.exceptions import InvalidParameterValue
from labkeep.genai.tracing.ui_data import span_tree, trace_rows
from labkeep.stores import get_trace_store


def test_log_generation_params_records_prompt_version(tracking, tmp_path):
    labkeep.register_prompt("qa", "Q: {{q}}")
    with labkeep.start_run() as run:
        logged = labkeep.genai.log_generation_params(
            "gpt-x", temperature=0.2, top_p=0.9, max_tokens=64, prompt="prompts:/qa/1", seed=7
        )
        path = labkeep.genai.log_prompt_text("a very long prompt " * 100, name="long")
        labkeep.log_params({"learning_rate": 1e-4, "epochs": 3})
    data = labkeep.get_run(run.info.run_id).data
    assert logged == {
        "model": "gpt-x",
        "temperature": "0.2",
        "top_p": "0.9",
        "max_tokens": "64",
        "seed": "7",
        "prompt_uri": "prompts:/qa/1",
    }
    assert data.params["prompt_uri"] == "prompts:/qa/1" and data.params["epochs"] == "3"
    assert json.loads(data.tags["mlflow.linkedPrompts"]) == [{"name": "qa", "version": "1"}]
    files = {f.path for f in labkeep.Client().list_artifacts(run.info.run_id, "prompts")}
    assert files == {"prompts/qa", "prompts/long.txt"} and path == "prompts/long.txt"
    local = labkeep.Client().download_artifacts(run.info.run_id, "prompts/qa/v1.txt", str(tmp_path / "dl"))
    assert open(local).read() == "Q: {{q}}"
    with pytest.raises(InvalidParameterValue):
        labkeep.genai.log_generation_params("")


def test_trace_rows_and_span_tree(tracking):
    @labkeep.trace(span_type="CHAIN")
    def chain(q):
        with labkeep.start_span("llm", span_type="CHAT_MODEL") as s:
            s.set_inputs({"prompt": "<b>" + q + "</b>"})
            s.set_token_usage(5, 7)
            s.set_cost(0.001, 0.002)
            s.set_attribute("model", "m")
        with labkeep.start_span("parse"):
            pass
        return "ok"

    with labkeep.start_run() as run:
        chain("hi")
    rows, token = trace_rows(get_trace_store(), tracking.experiment_id)
    assert token is None and len(rows) == 1
    row = rows[0]
    assert (row["name"], row["state"], row["tokens"], row["run_id"]) == ("chain", "OK", 12, run.info.run_id)
    assert row["cost"] == pytest.approx(0.003)
    tree = span_tree(labkeep.get_trace(row["trace_id"]))
    assert [(s["name"], s["depth"]) for s in tree] == [("chain", 0), ("llm", 1), ("parse", 1)]
    assert tree[0]["offset_pct"] == 0 and tree[0]["width_pct"] == 100.0
    assert tree[1]["inputs"] == {"prompt": "<b>hi</b>"}  # raw: templates escape
    assert tree[1]["attributes"]["model"] == "m" and "mlflow.spanInputs" not in tree[1]["attributes"]
    assert 0 <= tree[2]["offset_pct"] <= 100 and tree[1]["offset_pct"] <= tree[2]["offset_pct"]
