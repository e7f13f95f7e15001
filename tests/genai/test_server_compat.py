"""The official mlflow 3.17 client's tracing and prompt flows against a real ``labkeep server``.

Also labkeep's own REST trace store against the same server, and bad input on the trace endpoints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

import labkeep
from tests.server.helpers import running_server

FLOW = os.path.join(os.path.dirname(__file__), "mlflow_client_flow.py")


@pytest.fixture
def server(tmp_path, request):
    env = getattr(request, "param", None)
    args = [
        "--backend-store-uri",
        f"sqlite:///{tmp_path}/server.db",
        "--artifacts-destination",
        str(tmp_path / "artifacts"),
    ]
    with running_server(args, cwd=str(tmp_path), env=env) as (url, _proc):
        yield url, tmp_path


def _run_flow(url: str, cwd, *extra: str, async_logging: str = "false") -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LABKEEP_"))}
    env["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = async_logging
    proc = subprocess.run(
        [sys.executable, FLOW, url, *extra], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def test_official_client_tracing_and_prompts_land_in_labkeep(server):
    url, tmp = server
    # labkeep registers a prompt first; the official client must read it back
    labkeep.set_tracking_uri(url)
    labkeep.register_prompt("lk-prompt", "Tell me about {{topic}}.", commit_message="v1")
    labkeep.genai.set_prompt_alias("lk-prompt", "production", 1)

    out = _run_flow(url, tmp, "lk-prompt")
    assert out["labkeep_prompt"] == [1, "Tell me about {{topic}}.", "Tell me about cats."]
    assert sorted(out["search"]) == sorted([out["ok_id"], out["err_id"]])
    assert out["by_tag"] == [out["ok_id"]]
    assert out["state"] == "OK" and out["err_state"] == "ERROR"
    assert out["assessments"] == [["quality", 0.75]]
    assert out["info_tags"]["mlflow.traceName"] == "answer"
    assert out["info_tags"]["mlflow.artifactLocation"].endswith(f"/traces/{out['ok_id']}/artifacts")
    assert out["spans"] == sorted(
        [
            ["answer", True, {"question": "meaning?", "temperature": 0.2}, "42", "LLM", None],
            ["retrieve", False, {"q": "meaning?"}, ["d1"], "RETRIEVER", 3],
        ]
    )

    # the spans arrived over OTLP and live in the server's database
    from labkeep.stores.sql.traces import SqlTraceStore

    store = SqlTraceStore(f"sqlite:///{tmp}/server.db")
    stored = store.get_trace(out["ok_id"])
    assert stored.info.run_id == out["run_id"]
    assert {s["name"] for s in stored.spans} == {"answer", "retrieve"}

    # labkeep reads the official client's traces and prompt through its REST store
    labkeep.set_experiment("compat-traces")
    traces = labkeep.search_traces(return_type="list")
    assert {t.info.trace_id for t in traces} == {out["ok_id"], out["err_id"]}
    ok = labkeep.get_trace(out["ok_id"])
    assert {s.name for s in ok.data.spans} == {"answer", "retrieve"}
    assert ok.info.assessments[0].value == 0.75
    prompt = labkeep.load_prompt("prompts:/mlflow-prompt@prod")
    assert prompt.format(name="Ada") == "Hi Ada!" and prompt.commit_message == "c1"


def test_official_client_async_logging(server):
    url, tmp = server
    out = _run_flow(url, tmp, async_logging="true")
    assert len(out["spans"]) == 2 and out["assessments"] == [["quality", 0.75]]


@pytest.mark.parametrize("server", [{"LABKEEP_DISABLE_OTLP_INGEST": "true"}], indirect=True)
def test_without_otlp_the_client_falls_back_to_the_traces_json_artifact(server):
    url, tmp = server
    r = httpx.post(
        f"{url}/v1/traces",
        content=b"",
        headers={"Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": "0"},
    )
    assert r.status_code == 501 and "REST OTLP span logging is not supported" in r.json()["message"]
    out = _run_flow(url, tmp)
    assert len(out["spans"]) == 2 and "mlflow.trace.spansLocation" not in out["info_tags"]
    assert list((tmp / "artifacts").rglob(f"{out['ok_id']}/artifacts/traces.json"))
    # labkeep reads the spans from the artifact through the server
    labkeep.set_tracking_uri(url)
    trace = labkeep.get_trace(out["ok_id"])
    assert {s.name for s in trace.data.spans} == {"answer", "retrieve"}
    r = httpx.get(f"{url}/api/3.0/mlflow/traces/get", params={"trace_id": out["ok_id"]})
    assert len(r.json()["trace"]["spans"]) == 2


def test_labkeep_rest_trace_store_round_trip(server):
    url, _ = server
    labkeep.set_tracking_uri(url)
    labkeep.set_experiment("lk-traces")

    @labkeep.trace(span_type="CHAIN")
    def pipeline(x):
        with labkeep.start_span("step") as s:
            s.set_token_usage(3, 2)
        return x + 1

    with labkeep.start_run() as run:
        pipeline(1)
    tid = labkeep.get_last_active_trace_id()
    t = labkeep.get_trace(tid)
    assert t.info.run_id == run.info.run_id
    assert {s.name for s in t.data.spans} == {"pipeline", "step"}
    assert t.info.token_usage["total_tokens"] == 5
    labkeep.log_feedback(tid, name="ok", value=True)
    df = labkeep.search_traces(filter_string="feedback.ok = 'true'")
    assert list(df["trace_id"]) == [tid]


def test_trace_endpoints_reject_bad_input(server):
    url, _ = server
    exp = httpx.post(f"{url}/api/2.0/mlflow/experiments/create", json={"name": "bad"}).json()["experiment_id"]
    r = httpx.post(f"{url}/api/3.0/mlflow/traces", json={"trace": {}})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = httpx.post(
        f"{url}/v1/traces", content=b"\x0a\xff\xff", headers={"Content-Type": "application/x-protobuf"}
    )
    assert r.status_code == 400 and "x-mlflow-experiment-id" in r.json()["message"]
    r = httpx.post(
        f"{url}/v1/traces",
        content=b"\x0a\xff\xff\xff",
        headers={"Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": exp},
    )
    assert r.status_code == 400 and "OTLP" in r.json()["message"]
    r = httpx.get(f"{url}/api/3.0/mlflow/traces/get", params={"trace_id": "tr-missing"})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    r = httpx.post(
        f"{url}/api/3.0/mlflow/traces/search",
        json={
            "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}}],
            "filter": "foo =",
        },
    )
    assert r.status_code == 400
    r = httpx.patch(f"{url}/api/2.0/mlflow/traces/tr-missing/tags", json={"key": "a", "value": "b"})
    assert r.status_code == 404


GENAI_EVAL = """
import json, sys, mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("official-genai-eval")
from mlflow.genai.scorers import scorer

@scorer
def exact(outputs, expectations):
    return outputs == expectations["expected_response"]

data = [{"inputs": {"q": f"q{i}"}, "expectations": {"expected_response": "q1"}} for i in range(4)]
r = mlflow.genai.evaluate(data=data, predict_fn=lambda q: q, scorers=[exact])
traces = mlflow.search_traces(run_id=r.run_id, return_type="list")
print("RESULT " + json.dumps({"metrics": {k: float(v) for k, v in r.metrics.items()}, "run_id": r.run_id,
      "traces": len(traces), "names": sorted({a.name for t in traces for a in t.info.assessments})}))
"""


def test_official_client_genai_evaluate_lands_in_labkeep(server):
    url, tmp = server
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LABKEEP_"))}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", MLFLOW_GENAI_EVAL_MAX_WORKERS="1")
    proc = subprocess.run(
        [sys.executable, "-c", GENAI_EVAL, url], cwd=tmp, env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1][7:])
    assert out["metrics"]["exact/mean"] == 0.25 and out["traces"] == 4
    assert out["names"] == ["exact", "expected_response"]
    labkeep.set_tracking_uri(url)
    assert labkeep.get_run(out["run_id"]).data.metrics["exact/mean"] == 0.25
    assert len(labkeep.search_traces(experiment_ids=[labkeep.get_run(out["run_id"]).info.experiment_id])) == 4
