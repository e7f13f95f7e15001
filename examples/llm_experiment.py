"""An LLM experiment with labkeep alone, offline: two prompt versions evaluated side by side.

    python examples/llm_experiment.py [tracking-uri]

A stand-in "model" (a deterministic function) answers questions from a prompt template; each call
is traced. For each prompt version a run logs the generation params, the prompt, and an evaluation
with exact match, BLEU, ROUGE, latency, tokens, cost and an LLM judge (here a deterministic
callable; point ``judges.correctness()`` at any OpenAI-compatible endpoint with
``LABKEEP_JUDGE_BASE_URL`` / ``LABKEEP_JUDGE_API_KEY`` to use a real one). Needs ``labkeep[llm]``.
Compare the two runs in the UI (``labkeep ui``): runs table, the ``eval_results_table.json``
artifacts, and the experiment's traces page.
"""

from __future__ import annotations

import json
import sys

import pandas as pd

import labkeep
from labkeep.genai import judges

FACTS = {
    "capital of France": "Paris",
    "largest planet": "Jupiter",
    "author of Hamlet": "William Shakespeare",
}
DATA = pd.DataFrame(
    {
        "question": list(FACTS),
        "expected": [
            "The capital of France is Paris.",
            "The largest planet is Jupiter.",
            "The author of Hamlet is William Shakespeare.",
        ],
    }
)


def fake_llm(prompt: str) -> dict:
    """A stand-in chat model: answers from FACTS, terse or in a full sentence as the prompt asks."""
    topic = next(t for t in FACTS if t in prompt)
    text = FACTS[topic] if "one word" in prompt else f"The {topic} is {FACTS[topic]}."
    return {
        "text": text,
        "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())},
    }


def judge(prompt: str) -> str:
    """A deterministic judge: full marks when the expected answer's last word is in the response."""
    response = prompt.split("Response:\n", 1)[1].split("\n\n", 1)[0]
    expected = prompt.split("Expected answer:\n", 1)[1].split("\n\n", 1)[0]
    good = expected.rstrip(".").split()[-1] in response
    return json.dumps({"score": 5 if good else 2, "rationale": "names the answer" if good else "misses it"})


def make_answer(prompt: labkeep.genai.Prompt):
    """The traced application: fill the prompt, call the model (one CHAT_MODEL span per call)."""

    @labkeep.trace(name="answer", span_type="CHAIN")
    def answer(question: str) -> dict:
        with labkeep.start_span("llm", span_type="CHAT_MODEL") as span:
            text = prompt.format(question=question)
            span.set_inputs({"prompt": text})
            out = fake_llm(text)
            span.set_outputs(out["text"])
            span.set_token_usage(out["usage"]["prompt_tokens"], out["usage"]["completion_tokens"])
        return out

    return answer


def main(uri: str | None = None) -> dict:
    if uri:
        labkeep.set_tracking_uri(uri)
    labkeep.set_experiment("llm-qa")
    v1 = labkeep.register_prompt(
        "qa", "Answer in one word: what is the {{question}}?", commit_message="terse"
    )
    v2 = labkeep.register_prompt(
        "qa", "Answer in a full sentence: what is the {{question}}?", commit_message="sentence"
    )
    labkeep.genai.set_prompt_alias("qa", "production", v2.version)
    results = {}
    for prompt in (v1, v2):
        with labkeep.start_run(run_name=f"qa-v{prompt.version}") as run:
            labkeep.genai.log_generation_params("fake-llm-1", temperature=0.0, max_tokens=32, prompt=prompt)

            answer = make_answer(prompt)
            res = labkeep.evaluate(
                lambda df, answer=answer: [answer(q) for q in df["question"]],
                data=DATA,
                targets="expected",
                model_type="question-answering",
                extra_metrics=[judges.correctness(judge=judge)],
                price_per_1k_input_tokens=0.5,
                price_per_1k_output_tokens=1.5,
            )
            results[f"v{prompt.version}"] = {"run_id": run.info.run_id, **res.metrics}
    return results


if __name__ == "__main__":
    out = main(sys.argv[1] if len(sys.argv) > 1 else None)
    for name, metrics in out.items():
        keys = (
            "exact_match/v1",
            "bleu/v1/mean",
            "rougeL/v1/mean",
            "correctness/mean",
            "latency/p90",
            "cost/total",
        )
        print(name, {k: round(metrics[k], 4) for k in keys})
