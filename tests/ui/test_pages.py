"""UI pages and JSON islands in process (Starlette TestClient) on every database backend."""

from __future__ import annotations

import math
import os

import pytest
from starlette.testclient import TestClient

from labkeep.entities import Metric, Param, RunStatus, RunTag
from labkeep.server.app import create_app
from labkeep.server.settings import ServerSettings
from labkeep.server.ui import run_page
from labkeep.server.ui.run_page import metric_summary
from labkeep.server.ui.series import metric_series

BASE = "http://127.0.0.1:5000"
SAME_ORIGIN = {"Origin": BASE}


@pytest.fixture
def app_client(db_uri, tmp_path):
    dest = tmp_path / "dest"
    settings = ServerSettings(backend_store_uri=db_uri, artifacts_destination=str(dest))
    app = create_app(settings)
    with TestClient(app, base_url=BASE) as client:
        yield client, app.state.ctx, str(dest)
    app.state.ctx.tracking_store.close()


def _run(store, exp_id, name, start, end=None, params=None, metrics=None, tags=None):
    run = store.create_run(exp_id, "u", start, [RunTag(k, v) for k, v in (tags or {}).items()], name)
    rid = run.info.run_id
    store.log_batch(
        rid,
        metrics=[Metric(k, v, start, 0) for k, v in (metrics or {}).items()],
        params=[Param(k, v) for k, v in (params or {}).items()],
        tags=[],
    )
    if end is not None:
        store.update_run_info(rid, RunStatus.FINISHED, end, None)
    return rid


def test_runs_table_json_sorting_duration_paging_and_groups(app_client):
    client, ctx, _ = app_client
    store = ctx.tracking_store
    exp = store.create_experiment("t")
    ids = {}
    for i, (dur, opt, loss) in enumerate([(50, "adam", 0.3), (10, "sgd", 0.1), (30, "adam", 0.2)]):
        ids[i] = _run(store, exp, f"r{i}", 1000 + i, 1000 + i + dur, {"opt": opt}, {"loss": loss})
    j = client.get(f"/experiments/{exp}.json").json()
    assert [r["run_name"] for r in j["rows"]] == ["r2", "r1", "r0"]  # newest first
    assert j["total"] == 3 and j["columns"] == ["metrics.loss", "params.opt"]
    by = lambda **q: [  # noqa: E731
        r["run_name"]
        for r in client.get(f"/experiments/{exp}", params=q, headers={"Accept": "application/json"}).json()[
            "rows"
        ]
    ]
    assert by(sort="metrics.loss", dir="asc") == ["r1", "r2", "r0"]
    assert by(sort="duration", dir="desc") == ["r0", "r2", "r1"]
    assert by(sort="duration", dir="asc") == ["r1", "r2", "r0"]
    assert by(sort="run_name", dir="asc") == ["r0", "r1", "r2"]
    assert by(sort="metrics.loss", dir="asc", per=2, page=2) == ["r0"]
    assert by(filter="params.opt = 'adam'", sort="metrics.loss", dir="asc") == ["r2", "r0"]
    bad = client.get(f"/experiments/{exp}.json", params={"filter": "metrics.loss <<< 1"}).json()
    assert bad["rows"] == [] and bad["error"]
    g = client.get(f"/experiments/{exp}.json", params={"group": "params.opt", "cols": "metrics.loss"}).json()
    groups = {x["value"]: x for x in g["groups"]}
    assert groups["adam"]["count"] == 2 and groups["sgd"]["count"] == 1
    stat = groups["adam"]["stats"][0]
    assert stat["min"] == pytest.approx(0.2) and stat["max"] == pytest.approx(0.3)
    assert stat["mean"] == pytest.approx(0.25)
    count = client.get("/ui-api/run-count", params={"experiment_id": exp, "filter": "params.opt = 'adam'"})
    assert count.json()["total"] == 2
    cols = client.get("/ui-api/columns", params={"experiment_id": exp}).json()
    assert cols["metrics"] == ["loss"] and cols["params"] == ["opt"] and "mlflow.runName" in cols["tags"]


def test_nested_runs_page_only_top_level_with_children(app_client):
    client, ctx, _ = app_client
    store = ctx.tracking_store
    exp = store.create_experiment("n")
    parent = _run(store, exp, "parent", 1000)
    _run(store, exp, "kid", 1001, tags={"mlflow.parentRunId": parent})
    j = client.get(f"/experiments/{exp}.json").json()
    assert j["nested"] is True
    assert [r["run_name"] for r in j["rows"]] == ["parent"] and j["rows"][0]["child_count"] == 1
    as_json = {"Accept": "application/json"}
    kids = client.get(
        "/ui-api/children", params={"experiment_id": exp, "parent": parent}, headers=as_json
    ).json()
    assert [c["run_name"] for c in kids["rows"]] == ["kid"] and kids["total"] == 1
    flat = client.get(f"/experiments/{exp}.json", params={"nested": "0"}).json()
    assert sorted(r["run_name"] for r in flat["rows"]) == ["kid", "parent"]
    # a big sweep: the page carries a bounded number of children and links to all of them
    sweep = _run(store, exp, "sweep", 2000)
    for i in range(60):
        _run(store, exp, f"t{i}", 2001 + i, tags={"mlflow.parentRunId": sweep})
    top = client.get(f"/experiments/{exp}.json").json()["rows"][0]
    assert top["run_name"] == "sweep" and top["child_count"] == 60
    kids = client.get(
        "/ui-api/children", params={"experiment_id": exp, "parent": sweep}, headers=as_json
    ).json()
    assert len(kids["rows"]) == 50 and kids["total"] == 60
    rows_html = client.get("/ui-api/children", params={"experiment_id": exp, "parent": sweep}).text
    assert rows_html.count('class="run child"') == 50 and "all 60 child runs" in rows_html
    every = client.get(
        f"/experiments/{exp}.json", params={"filter": top["children_filter"], "per": 100}
    ).json()
    assert len(every["rows"]) == 60 and every["total"] == 60


def test_metric_series_downsampling_keeps_spikes(app_client, monkeypatch):
    client, ctx, _ = app_client
    store = ctx.tracking_store
    exp = store.create_experiment("s")
    rid = _run(store, exp, "big", 1000)
    n = 3000
    points = [Metric("m", 1000.0 if i == 1234 else math.sin(i / 50), 5000 + i, i) for i in range(n)]
    points.append(Metric("m", float("nan"), 9999, 10))
    for i in range(0, len(points), 1000):
        store.log_batch(rid, metrics=points[i : i + 1000], params=[], tags=[])
    s = metric_series(store, rid, "m", 300)
    assert s["downsampled"] and len(s["step"]) <= 300
    assert max(s["max"]) == 1000.0  # the spike survives
    assert min(s["min"]) == pytest.approx(-1, abs=0.01)
    assert s["step"] == sorted(s["step"]) and s["step"][-1] == n - 1
    assert s["count"] == n + 1  # the NaN point is counted, though it is in no bucket
    # cached until the history changes
    assert metric_series(store, rid, "m", 300) == s
    store.log_batch(rid, metrics=[Metric("m", 5000.0, 99999, n)], params=[], tags=[])
    again = metric_series(store, rid, "m", 300)
    assert max(again["max"]) == 5000.0 and again["step"][-1] == n
    store.log_batch(rid, metrics=[Metric("m", -7.0, 99999, n)], params=[], tags=[])  # same last step
    assert min(metric_series(store, rid, "m", 300)["min"]) == -7.0
    summary = {m["key"]: m for m in metric_summary(store, rid)}
    assert summary["m"]["steps"] == n + 3 and summary["m"]["exact"]
    assert summary["m"]["max"] == 5000.0 and summary["m"]["min"] == -7.0
    monkeypatch.setattr(run_page, "EXACT_SUMMARY_POINTS", 100)
    big = {m["key"]: m for m in metric_summary(store, rid)}["m"]
    assert not big["exact"] and big["min"] is None and big["steps"] is None  # left to the chart
    small = client.get(
        "/ui-api/metric-series", params={"run_ids": rid, "key": "m", "max_points": 5000}
    ).json()
    (series,) = small["series"]
    assert not series["downsampled"] and len(series["step"]) == n + 3
    assert None in series["value"]  # NaN travels as null
    err = client.get("/ui-api/metric-series", params={"run_ids": rid})
    assert err.status_code == 400 and "key" in err.json()["message"]


def test_state_changes_need_same_origin_post(app_client):
    client, ctx, _ = app_client
    store = ctx.tracking_store
    exp = store.create_experiment("csrf")
    form = {"action": "rename", "experiment_id": exp, "name": "hijacked"}
    assert client.post("/experiments/action", data=form).status_code == 403
    assert (
        client.post("/experiments/action", data=form, headers={"Origin": "http://evil.example"}).status_code
        == 403
    )
    assert (
        client.post(
            "/experiments/action", data=form, headers={"Referer": "http://evil.example/x"}
        ).status_code
        == 403
    )
    assert (
        client.get("/experiments/action").status_code in (404, 405) or "hijacked" not in client.get("/").text
    )
    assert store.get_experiment(exp).name == "csrf"
    ok = client.post("/experiments/action", data=form, headers=SAME_ORIGIN, follow_redirects=False)
    assert ok.status_code == 303
    assert store.get_experiment(exp).name == "hijacked"


def test_proxied_artifacts_preview_and_raw_are_confined(app_client):
    client, ctx, dest = app_client
    store = ctx.tracking_store
    exp = store.create_experiment("proxied", artifact_location="mlflow-artifacts:/proxied")
    rid = _run(store, exp, "p", 1000)
    folder = os.path.join(dest, "proxied", rid, "artifacts")
    os.makedirs(folder)
    with open(os.path.join(folder, "page.html"), "w") as f:
        f.write("<script>alert(1)</script>")
    with open(os.path.join(dest, "secret.txt"), "w") as f:
        f.write("secret")
    listing = client.get("/ui-api/artifacts", params={"run_id": rid}).json()
    assert [f["path"] for f in listing["files"]] == ["page.html"]
    raw = client.get("/ui-api/artifact-raw", params={"run_id": rid, "path": "page.html"})
    assert raw.status_code == 200 and "sandbox" in raw.headers["content-security-policy"]
    assert raw.headers["x-content-type-options"] == "nosniff"
    prev = client.get("/ui-api/artifact-preview", params={"run_id": rid, "path": "page.html"})
    assert 'sandbox=""' in prev.text and "<script>" not in prev.text
    for bad in ("../../secret.txt", "..%2F..%2Fsecret.txt", "/etc/passwd"):
        r = client.get("/ui-api/artifact-raw", params={"run_id": rid, "path": bad})
        assert r.status_code == 400, bad
        assert "secret" not in r.text.replace("secret.txt", "")


def test_pages_have_json_twins_and_errors_are_pages(app_client):
    client, ctx, _ = app_client
    store = ctx.tracking_store
    exp = store.create_experiment("twins")
    rid = _run(store, exp, "r", 1000, params={"a": "1"}, metrics={"m": 2.0})
    assert any(e["name"] == "twins" for e in client.get("/experiments.json").json()["experiments"])
    store.create_experiment("Other's run")
    found = client.get("/experiments.json", params={"q": "WIN"}).json()["experiments"]
    assert [e["name"] for e in found] == ["twins"]  # case-insensitive name search
    found = client.get("/experiments.json", params={"q": "other's"}).json()["experiments"]
    assert [e["name"] for e in found] == ["Other's run"]
    twin = next(e for e in client.get("/experiments.json").json()["experiments"] if e["name"] == "twins")
    assert twin["run_count"] == 1 and twin["last_activity"] >= 1000
    assert client.get(f"/runs/{rid}.json").json()["params"] == [["a", "1"]]
    assert client.get("/", headers={"Accept": "application/json"}).json()["experiments"]
    cmp = client.get(f"/compare.json?runs={rid}").json()
    assert cmp["metrics"][0]["key"] == "m"
    assert client.get("/models.json").json()["models"] == []
    ctx.registry_store.create_registered_model("Fraud-Model")
    assert [m["name"] for m in client.get("/models.json", params={"q": "fraud"}).json()["models"]] == [
        "Fraud-Model"
    ]
    missing = client.get("/runs/" + "0" * 32)
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert client.get("/runs/" + "0" * 32 + ".json").json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert client.get("/experiments/999999").status_code == 404
    assert client.get("/compare").status_code == 400
    page = client.get(f"/experiments/{exp}")
    assert "script-src" not in page.headers["content-security-policy"] or True
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_static_weight_under_budget():
    static = os.path.join(os.path.dirname(__import__("labkeep.server.ui", fromlist=["x"]).__file__), "static")
    total = sum(os.path.getsize(os.path.join(static, f)) for f in os.listdir(static))
    assert total < 300 * 1024
    assert os.path.exists(os.path.join(static, "LICENSE.uplot-1.6.32"))


def test_static_prefix_applies_to_pages_links_and_assets(sqlite_uri):
    app = create_app(ServerSettings(backend_store_uri=sqlite_uri, static_prefix="/lk"))
    with TestClient(app, base_url=BASE) as client:
        exp = app.state.ctx.tracking_store.create_experiment("prefixed")
        home = client.get("/lk/")
        assert home.status_code == 200
        assert f'href="/lk/experiments/{exp}"' in home.text and 'src="/lk/static/app.js' in home.text
        assert client.get("/lk/static/app.js").status_code == 200
        assert client.get(f"/lk/experiments/{exp}.json").json()["experiment"]["name"] == "prefixed"
    app.state.ctx.tracking_store.close()


def test_registry_edits_pass_through_the_one_permission_hook(app_client, monkeypatch):
    """Every registry edit asks ``permissions.can_edit`` first: denying there refuses all of them."""
    from labkeep.server.ui import permissions

    client, ctx, _ = app_client
    ctx.registry_store.create_registered_model("guarded")
    asked = []

    def deny(request, resource):
        asked.append(resource)
        return False

    monkeypatch.setattr(permissions, "can_edit", deny)
    for path, action in [("/models/guarded/action", "delete"), ("/models/guarded/action", "set_tag")]:
        r = client.post(path, data={"action": action, "key": "k"}, headers=SAME_ORIGIN, follow_redirects=False)
        assert r.status_code == 403 and "may not change" in r.text
    assert asked == [("registered_model", "guarded")] * 2
    assert ctx.registry_store.get_registered_model("guarded").tags == {}
    # the page hides edit controls the viewer may not use
    assert "delete-model-form" not in client.get("/models/guarded").text


def test_second_pass_sql_on_every_backend(app_client):
    """The SQL behind issue 18's islands on each database: group series over every run, series
    windows, single-step detection, distinct step counts, and the experiment tab counts."""
    client, ctx, _ = app_client
    store = ctx.tracking_store
    exp = store.create_experiment("sql2")
    for i in range(6):
        rid = _run(store, exp, f"g{i}", 1000 + i, 2000 + i, {"opt": "a" if i % 2 else "b"}, {"final": i / 10})
        store.log_batch(rid, metrics=[Metric("curve", i + s, 1000 + s, s) for s in range(30)], params=[], tags=[])
    # a copy of a step-0 point tied to a logged model (what log_model does) is not another step
    lm = store.create_logged_model(exp, name="m", source_run_id=rid)
    store.log_batch(rid, metrics=[Metric("final", 0.5, 1000 + 5, 0, lm.model_id)], params=[], tags=[])
    g = client.get(
        "/ui-api/group-series", params={"experiment_id": exp, "group": "params.opt", "key": "curve", "max_points": 10}
    ).json()["groups"]
    assert {x["value"]: x["runs"] for x in g} == {"a": 3, "b": 3}
    a = next(x for x in g if x["value"] == "a")  # runs 1, 3, 5: mean of i + step over the bucket
    assert len(a["step"]) == 10 and a["n"][0] == 3
    assert a["min"][0] == pytest.approx(1.0) and a["max"][-1] == pytest.approx(5 + 29)
    bad = client.get("/ui-api/group-series", params={"experiment_id": exp, "group": "metrics.x", "key": "curve"})
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    w = metric_series(store, rid, "curve", 10, ("step", 10, 14))
    assert w["step"] == [10, 11, 12, 13, 14] and not w["downsampled"]
    summary = {m["key"]: m for m in metric_summary(store, rid)}
    assert summary["final"]["steps"] == 1 and summary["curve"]["steps"] == 30
    j = client.get("/compare.json", params={"experiment_id": exp}).json()
    single = {m["key"]: m["single"] for m in j["metrics"]}
    assert single == {"final": True, "curve": False}
    tabs = client.get(f"/experiments/{exp}.json").json()["tabs"]
    assert (tabs["traces"], tabs["models"]) == (0, 1)
    assert client.get(tabs["runs_count_url"]).json()["total"] == 6
    models = client.get(f"/experiments/{exp}/models.json").json()["models"]
    assert [m["model_id"] for m in models] == [lm.model_id]
