"""Run by test_server_compat.py with the official mlflow client: tracing and prompts against a URI.

Prints one JSON object with what the client saw.
"""

import json
import sys

import mlflow

uri = sys.argv[1]
mlflow.set_tracking_uri(uri)
mlflow.set_experiment("compat-traces")


@mlflow.trace(span_type="LLM")
def answer(question, temperature=0.2):
    with mlflow.start_span("retrieve", span_type="RETRIEVER") as span:
        span.set_inputs({"q": question})
        span.set_outputs(["d1"])
        span.set_attribute("top_k", 3)
    return "42"


@mlflow.trace
def broken():
    raise RuntimeError("nope")


out = {}
with mlflow.start_run() as run:
    answer("meaning?")
    ok_id = mlflow.get_last_active_trace_id()
    try:
        broken()
    except RuntimeError:
        pass
    err_id = mlflow.get_last_active_trace_id()
mlflow.flush_trace_async_logging()
out["run_id"] = run.info.run_id
out["ok_id"] = ok_id
out["err_id"] = err_id
mlflow.set_trace_tag(ok_id, "team", "blue")
fb = mlflow.log_feedback(trace_id=ok_id, name="quality", value=0.75, rationale="fine")
out["feedback_id"] = fb.assessment_id
traces = mlflow.search_traces(return_type="list")
out["search"] = sorted(t.info.trace_id for t in traces)
out["by_tag"] = [
    t.info.trace_id for t in mlflow.search_traces(filter_string="tags.team = 'blue'", return_type="list")
]
t = mlflow.get_trace(ok_id)
out["info_tags"] = t.info.tags
out["state"] = t.info.state.value if hasattr(t.info.state, "value") else str(t.info.state)
out["assessments"] = [(a.name, a.value) for a in t.info.assessments]
out["spans"] = sorted(
    [s.name, s.parent_id is None, s.inputs, s.outputs, s.span_type, s.attributes.get("top_k")]
    for s in t.data.spans
)
e = mlflow.get_trace(err_id)
out["err_state"] = e.info.state.value if hasattr(e.info.state, "value") else str(e.info.state)

# prompts: register with the official client, read what labkeep registered (name in argv[2])
p = mlflow.genai.register_prompt(name="mlflow-prompt", template="Hi {{name}}!", commit_message="c1")
mlflow.genai.set_prompt_alias("mlflow-prompt", "prod", p.version)
out["prompt_version"] = p.version
if len(sys.argv) > 2:
    lp = mlflow.genai.load_prompt(f"prompts:/{sys.argv[2]}@production")
    out["labkeep_prompt"] = [lp.version, lp.template, lp.format(topic="cats")]
print("RESULT " + json.dumps(out))
