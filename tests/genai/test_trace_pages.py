"""Trace pages of the web UI (in-process app over SQLite): list, filter, span tree, escaping."""

from __future__ import annotations

import warnings

import pytest

import labkeep

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from starlette.testclient import TestClient  # noqa: E402

from labkeep.server.app import create_app  # noqa: E402
from labkeep.server.settings import ServerSettings  # noqa: E402


@pytest.fixture
def ui(tmp_path):
    uri = f"sqlite:///{tmp_path}/ui.db"
    labkeep.set_tracking_uri(uri)
    exp = labkeep.set_experiment("llm")

    @labkeep.trace(name="chain")
    def chain(q):
        with labkeep.start_span("llm", span_type="CHAT_MODEL") as s:
            s.set_inputs({"prompt": q})
            s.set_token_usage(3, 4)
            s.set_cost(0.5, 0.25)
        if q == "fail":
            raise ValueError("<b>bad</b>")
        return "<script>alert(1)</script>"

    with labkeep.start_run() as run:
        chain("<img src=x onerror=alert(1)>")
    ok_id = labkeep.get_last_active_trace_id()
    with pytest.raises(ValueError):
        chain("fail")
    labkeep.log_feedback(ok_id, name="quality", value=5, rationale="<i>great</i>")
    app = create_app(ServerSettings(backend_store_uri=uri, artifacts_destination=str(tmp_path / "art")))
    with TestClient(app, base_url="http://localhost") as client:
        yield client, exp.experiment_id, ok_id, run.info.run_id


def test_traces_list_filter_and_json(ui):
    client, exp, ok_id, run_id = ui
    page = client.get(f"/experiments/{exp}/traces")
    assert page.status_code == 200
    assert f"/traces/{ok_id}" in page.text and f"/runs/{run_id}" in page.text
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    data = client.get(f"/experiments/{exp}/traces.json").json()
    assert [t["state"] for t in data["traces"]] == ["ERROR", "OK"]
    assert data["traces"][1]["tokens"] == 7 and data["traces"][1]["cost"] == 0.75
    filtered = client.get(f"/experiments/{exp}/traces.json", params={"filter": "status = 'OK'"}).json()
    assert [t["trace_id"] for t in filtered["traces"]] == [ok_id]
    bad = client.get(f"/experiments/{exp}/traces", params={"filter": "nonsense ="})
    assert bad.status_code == 200 and 'id="filter-error"' in bad.text


def test_trace_page_span_tree_and_escaping(ui):
    client, _, ok_id, _ = ui
    page = client.get(f"/traces/{ok_id}")
    assert page.status_code == 200
    assert 'id="spans"' in page.text and page.text.count('class="span-row"') == 2
    assert "<img src=x" not in page.text and "<i>great</i>" not in page.text
    assert "&lt;i&gt;great&lt;/i&gt;" in page.text
    data = client.get(f"/traces/{ok_id}.json").json()
    assert [(s["name"], s["depth"]) for s in data["spans"]] == [("chain", 0), ("llm", 1)]
    assert data["trace"]["assessments"][0]["value"] == 5
    missing = client.get("/traces/tr-" + "0" * 32)
    assert missing.status_code == 404


def test_evaluation_tables_side_by_side(tmp_path):
    import pandas as pd

    uri = f"sqlite:///{tmp_path}/eval.db"
    labkeep.set_tracking_uri(uri)
    labkeep.set_experiment("eval")
    data = pd.DataFrame({"question": ["q1", "q2", "<b>q3</b>"], "expected": ["a", "b", "c"]})
    answers = [
        {"q1": "a", "q2": "x", "<b>q3</b>": "c"},
        {"q1": "a", "q2": "b", "<b>q3</b>": "<script>x</script>"},
    ]
    run_ids = []
    for ans in answers:
        res = labkeep.evaluate(
            lambda df, ans=ans: [ans[q] for q in df["question"]], data=data, targets="expected", evaluator_config={"metrics": ["exact_match"]}
        )
        run_ids.append(res.run_id)
    with labkeep.start_run() as empty:
        pass
    app = create_app(ServerSettings(backend_store_uri=uri, artifacts_destination=str(tmp_path / "art")))
    with TestClient(app, base_url="http://localhost") as client:
        body = client.get(
            "/compare-eval.json", params={"runs": ",".join([*run_ids, empty.info.run_id])}
        ).json()
        assert body["key"] == "question" and body["score_columns"] == ["exact_match"]
        assert [r["key"] for r in body["rows"]] == ["q1", "q2", "<b>q3</b>"]
        q2 = body["rows"][1]["cells"]
        assert (q2[0]["output"], q2[0]["scores"]["exact_match"]) == ("x", 0.0)
        assert (q2[1]["output"], q2[1]["scores"]["exact_match"]) == ("b", 1.0)
        assert q2[2] is None and [r["has_table"] for r in body["runs"]] == [True, True, False]
        page = client.get("/compare-eval", params={"runs": ",".join(run_ids)})
        assert page.status_code == 200 and 'id="eval-compare"' in page.text
        assert "<script>x</script>" not in page.text and "&lt;b&gt;q3&lt;/b&gt;" in page.text
        assert client.get("/compare-eval").status_code == 400
        bad = client.get("/compare-eval", params={"runs": run_ids[0], "table": "../../etc/passwd"})
        assert bad.status_code == 400
