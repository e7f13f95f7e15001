"""examples/llm_experiment.py end to end: two prompt versions, evaluation, judge, traces (offline)."""

from __future__ import annotations

import importlib.util
import json
import os

import labkeep

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "llm_experiment.py")


def test_example_compares_two_prompt_versions(tmp_path):
    spec = importlib.util.spec_from_file_location("llm_experiment", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(f"sqlite:///{tmp_path}/ex.db")
    assert out["v1"]["exact_match/v1"] == 0.0 and out["v2"]["exact_match/v1"] == 1.0
    assert out["v2"]["bleu/v1/mean"] > out["v1"]["bleu/v1/mean"]
    assert out["v1"]["correctness/mean"] == 5.0 and out["v2"]["cost/total"] > out["v1"]["cost/total"]
    for version, key in ((1, "v1"), (2, "v2")):
        run = labkeep.get_run(out[key]["run_id"])
        assert run.data.params["prompt_uri"] == f"prompts:/qa/{version}"
        assert json.loads(run.data.tags["mlflow.linkedPrompts"]) == [{"name": "qa", "version": str(version)}]
        traces = labkeep.search_traces(run_id=run.info.run_id, return_type="list")
        assert len(traces) == 3 and all(t.info.token_usage for t in traces)
    assert labkeep.load_prompt("prompts:/qa@production").version == 2
