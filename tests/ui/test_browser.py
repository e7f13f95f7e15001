"""The web UI in headless Chromium against a real ``labkeep ui`` process (see conftest)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.ui.conftest import canvas_ink, wait_js
from tests.ui.fill import HOSTILE

pytestmark = pytest.mark.browser


def _api(url: str, path: str, **params):
    r = httpx.get(f"{url}/api/2.0/mlflow/{path}", params=params, timeout=10)
    r.raise_for_status()
    return r.json()


def _no_script_ran(page):
    assert page.dialogs == [] or all(t == "confirm" for t, _ in page.dialogs), page.dialogs
    assert page.evaluate("document.title") != "pwned"


def test_experiments_page_lists_counts_and_manages_experiments(ui_server, page):
    url, ids, _ = ui_server
    page.goto(url + "/")
    row = page.locator(f"#experiments tr[data-id='{ids['experiment_id']}']")
    assert row.locator("a.exp-link").inner_text() == "ui-demo"
    assert row.locator("td.runs-count").inner_text() == "9"  # 4 trials, parent + 2 children, hostile, long
    # search by name
    page.fill("#exp-search", "second")
    page.press("#exp-search", "Enter")
    assert page.locator("#experiments a.exp-link").all_inner_texts() == ["second-exp"]
    # create, rename, delete, restore through the forms
    page.goto(url + "/")
    page.fill("#new-exp-name", "made-in-ui")
    page.click("#create-exp")
    page.wait_for_url(re.compile(r"/experiments/\d+$"))
    new_id = page.url.rsplit("/", 1)[1]
    assert _api(url, "experiments/get", experiment_id=new_id)["experiment"]["name"] == "made-in-ui"
    page.goto(url + "/")
    new_row = page.locator(f"#experiments tr[data-id='{new_id}']")
    new_row.locator(".rename-form input[name=name]").fill("renamed-in-ui")
    new_row.locator(".rename-form button").click()
    page.wait_for_load_state()
    assert _api(url, "experiments/get", experiment_id=new_id)["experiment"]["name"] == "renamed-in-ui"
    page.locator(f"#experiments tr[data-id='{new_id}'] button.danger").click()
    page.wait_for_load_state()
    assert page.dialogs and page.dialogs[-1][0] == "confirm"
    assert _api(url, "experiments/get", experiment_id=new_id)["experiment"]["lifecycle_stage"] == "deleted"
    assert page.locator(f"#experiments tr[data-id='{new_id}']").count() == 0
    page.goto(url + "/?view=deleted")
    page.locator(f"#experiments tr[data-id='{new_id}'] button").click()
    page.wait_for_load_state()
    assert _api(url, "experiments/get", experiment_id=new_id)["experiment"]["lifecycle_stage"] == "active"


def _run_names(page):
    return page.locator("#runs tbody tr.run:not([hidden]) td.name a:not(.toggle)").all_inner_texts()


def test_runs_table_sorts_filters_and_shows_errors(ui_server, page):
    url, ids, _ = ui_server
    exp = ids["experiment_id"]
    page.goto(f"{url}/experiments/{exp}?cols=metrics.loss,params.lr,params.optimizer")
    names = _run_names(page)
    assert {"trial-0", "trial-1", "trial-2", "trial-3", "sweep-parent"} <= set(names)
    assert "child-0" not in names  # nested under the parent, collapsed
    # sort by a metric column: ascending then descending
    page.click("th a.sort[data-col='params.lr']")
    page.wait_for_url(re.compile("sort=params.lr"))
    first = _run_names(page)
    page.click("th a.sort[data-col='params.lr']")
    page.wait_for_url(re.compile("dir=asc"))
    second = _run_names(page)
    trials_desc = [n for n in first if n.startswith("trial")]
    trials_asc = [n for n in second if n.startswith("trial")]
    # lr is a string param: '0.1' > '0.05' > '0.01' > '0.001'
    assert trials_desc == ["trial-0", "trial-3", "trial-1", "trial-2"]
    assert trials_asc == list(reversed(trials_desc))
    # filter with the search language
    page.fill("#filter", "params.optimizer = 'adam' and metrics.loss < 10")
    page.click("#apply")
    page.wait_for_url(re.compile("filter="))
    assert sorted(_run_names(page)) == ["trial-0", "trial-2"]
    page.wait_for_selector("#row-count[data-total='2']")
    # a wrong filter shows its error inline
    page.fill("#filter", "metrics.loss <<< 1")
    page.click("#apply")
    err = page.locator("#filter-error")
    assert err.is_visible()
    assert "loss" in err.inner_text() or "<" in err.inner_text()


def test_runs_table_nested_rows_column_picker_and_compare(ui_server, page):
    url, ids, _ = ui_server
    exp = ids["experiment_id"]
    page.goto(f"{url}/experiments/{exp}")
    parent_row = page.locator(f"tr[data-run-id='{ids['parent_id']}']")
    children = page.locator(f"tr[data-parent='{ids['parent_id']}']")
    assert children.count() == 0  # fetched when the parent is expanded
    assert parent_row.locator("a.toggle").inner_text() == "▸ 2"
    parent_row.locator("a.toggle").click()
    children.first.wait_for()
    assert children.count() == 2 and children.first.is_visible()
    assert sorted(children.locator("td.name a").all_inner_texts()) == ["child-0", "child-1"]
    parent_row.locator("a.toggle").click()  # collapse
    assert not children.first.is_visible()
    # column picker: add the 'team' tag column; the choice lands in the URL
    page.click("#col-picker-btn")
    page.locator("#col-picker input[value='tags.team']").check()
    page.click("#col-apply")
    page.wait_for_url(re.compile("cols=.*tags.team"))
    assert page.locator("th a.sort[data-col='tags.team']").count() == 1
    row0 = page.locator(f"tr[data-run-id='{ids['run_ids'][0]}']")
    assert "nlp" in row0.inner_text()
    # select two runs and compare them
    page.locator(f"tr[data-run-id='{ids['run_ids'][0]}'] input.pick").check()
    page.locator(f"tr[data-run-id='{ids['run_ids'][1]}'] input.pick").check()
    page.click("#compare-btn")
    page.wait_for_url(re.compile("/compare"))
    assert sorted(page.locator("#compare-table thead a").all_inner_texts()) == ["trial-0", "trial-1"]


def test_run_page_overview_params_metrics_and_charts(ui_server, page):
    url, ids, _ = ui_server
    run_id = ids["run_ids"][0]
    page.goto(f"{url}/runs/{run_id}")
    assert page.locator("#run-name").inner_text().strip() == "trial-0"
    assert "FINISHED" in page.locator("#overview").inner_text()
    assert page.locator("#params").inner_text().count("adam") == 1
    loss = page.locator("#metrics tr[data-key='loss'] td")
    assert loss.nth(4).inner_text() == "50"  # steps
    page.wait_for_selector("#charts[data-drawn] .uplot canvas")
    assert page.locator("#charts .chart").count() == 2  # loss and acc
    assert canvas_ink(page, "#charts canvas") > 500
    # overlay both keys in one chart
    page.check("#chart-controls .overlay")
    wait_js(page, "document.querySelectorAll('#charts .chart').length === 1")
    legend = page.locator("#charts .u-legend").inner_text()
    assert "loss" in legend and "acc" in legend
    assert canvas_ink(page, "#charts canvas") > 500
    # wall-time x axis and log scale still draw
    page.select_option("#chart-controls .x-axis", "relative")
    page.check("#chart-controls .log-scale")
    page.wait_for_selector("#charts .uplot canvas")
    assert canvas_ink(page, "#charts canvas") > 500
    assert page.js_errors == []


def test_run_page_links_parent_and_children(ui_server, page):
    url, ids, _ = ui_server
    page.goto(f"{url}/runs/{ids['parent_id']}")
    assert sorted(page.locator("#children a").all_inner_texts()) == ["child-0", "child-1"]
    page.locator("#children a", has_text="child-1").click()
    page.wait_for_selector("#parent-link")
    assert page.locator("#parent-link").inner_text() == "sweep-parent"
    assert page.locator("#run-name").inner_text().strip() == "child-1"


def test_long_history_is_downsampled_with_spikes_and_range_filled(ui_server, page):
    url, ids, _ = ui_server
    page.goto(f"{url}/runs/{ids['long_run_id']}")
    row = page.locator("#metrics tr[data-key='loss']")
    page.wait_for_selector("#charts[data-drawn] .uplot canvas")
    wait_js(page, "!document.querySelector('#metrics tr[data-key=loss][data-fill-range]')")
    assert row.locator("td.steps").inner_text() == "25000"  # counted by the series endpoint
    assert row.locator("td.max").inner_text() == "100"  # the one spike, found through the buckets
    assert float(row.locator("td.min").inner_text()) == pytest.approx(1 / 25000, rel=1e-3)
    assert "loss max" in page.locator("#charts .u-legend").inner_text()  # min/max band series drawn
    assert canvas_ink(page, "#charts canvas") > 500


def test_run_page_edits_description_and_tags(ui_server, page):
    url, ids, _ = ui_server
    run_id = ids["run_ids"][1]
    page.goto(f"{url}/runs/{run_id}")
    page.click("details summary")
    page.fill("#description-input", "edited <i>in</i> the browser")
    page.click("#save-description")
    page.wait_for_load_state()
    assert page.locator("#description").inner_text() == "edited <i>in</i> the browser"
    page.fill("#tag-key", "reviewed")
    page.fill("#tag-value", "yes")
    page.click("#set-tag")
    page.wait_for_load_state()
    tags = _api(url, "runs/get", run_id=run_id)["run"]["data"]["tags"]
    as_dict = {t["key"]: t["value"] for t in tags}
    assert as_dict["reviewed"] == "yes"
    assert as_dict["mlflow.note.content"] == "edited <i>in</i> the browser"
    page.locator("#tags tr[data-key='reviewed'] button").click()
    page.wait_for_load_state()
    tags = _api(url, "runs/get", run_id=run_id)["run"]["data"]["tags"]
    assert "reviewed" not in {t["key"] for t in tags}


def _open_artifact(page, path: str):
    parts = path.split("/")
    for i in range(len(parts) - 1):
        child = page.locator(f"#artifact-tree a[data-path='{'/'.join(parts[: i + 2])}']")
        if child.count() == 0:  # folder still collapsed: expand it
            page.locator(f"#artifact-tree a[data-path='{'/'.join(parts[: i + 1])}']").click()
    page.locator(f"#artifact-tree a[data-path='{path}']").click()
    page.wait_for_selector(f"#artifact-preview[data-path='{path}']")
    return page.locator("#artifact-preview")


def test_artifact_previews_for_each_type(ui_server, page):
    url, ids, _ = ui_server
    page.goto(f"{url}/runs/{ids['hostile_run_id']}")
    page.wait_for_selector("#artifact-tree a[data-path='logs']")
    # text/log: escaped, shown as text
    pane = _open_artifact(page, "logs/train.log")
    assert "<b>bold</b>" in pane.locator("pre").inner_text()
    assert HOSTILE in pane.locator("pre").inner_text()
    # python and json: highlighted tokens
    pane = _open_artifact(page, "code/script.py")
    assert pane.locator("pre span.tw").first.inner_text() in ("import", "def", "return")
    pane = _open_artifact(page, "config.json")
    assert pane.locator("pre span.tk").count() >= 3
    pane = _open_artifact(page, "config.yaml")
    assert "hello" in pane.inner_text()
    # csv / tsv / log_table json: sortable tables
    pane = _open_artifact(page, "data/points.csv")
    col = pane.locator("table.preview-table tbody tr td:first-child")
    assert col.all_inner_texts() == ["3", "1", "2"]
    pane.locator("table.preview-table th").first.click()
    assert col.all_inner_texts() == ["1", "2", "3"]
    pane.locator("table.preview-table th").first.click()
    assert col.all_inner_texts() == ["3", "2", "1"]
    pane = _open_artifact(page, "data/points.tsv")
    assert pane.locator("table.preview-table th").all_inner_texts() == ["x", "y"]
    pane = _open_artifact(page, "table.json")
    assert pane.locator("table.preview-table th").all_inner_texts() == ["name", "score"]
    assert pane.locator("tbody tr").count() == 3
    # images, svg through <img>
    pane = _open_artifact(page, "images/img.png")
    wait_js(page, "document.querySelector('#artifact-preview img').naturalWidth === 8")
    pane = _open_artifact(page, "pic.svg")
    wait_js(page, "document.querySelector('#artifact-preview img').complete")
    assert pane.locator("img").count() == 1
    # html in a sandboxed iframe: its script does not run with our origin
    pane = _open_artifact(page, "report.html")
    frame = pane.locator("iframe")
    assert frame.get_attribute("sandbox") == ""
    assert page.frame_locator("#artifact-preview iframe").locator("h1").inner_text() == "Report"
    page.wait_for_timeout(300)
    _no_script_ran(page)
    # model folder summary
    pane = _open_artifact(page, "model")
    text = pane.inner_text()
    assert "python_function" in text and "sklearn" in text
    assert "x<script>" in pane.locator("table.signature").first.inner_text()
    assert '"columns"' in text  # input example
    _no_script_ran(page)
    assert page.js_errors == []


def test_compare_page_highlights_differences_and_draws_plots(ui_server, page):
    url, ids, _ = ui_server
    page.goto(f"{url}/compare?runs={','.join(ids['run_ids'])}")
    assert page.locator("#compare-table tr.param.differs[data-key='lr']").count() == 1
    assert page.locator("#compare-table tr.metric[data-key='loss']").count() == 1
    page.wait_for_selector("#parallel[data-drawn='4']")
    assert canvas_ink(page, "#parallel") > 1000
    page.wait_for_selector("#scatter[data-drawn]")
    assert page.get_attribute("#scatter", "data-drawn") == "4"
    assert canvas_ink(page, "#scatter") > 200
    page.wait_for_selector("#charts[data-drawn] .uplot canvas")
    legend = page.locator("#charts .u-legend").first.inner_text()
    assert "trial-0" in legend and "trial-3" in legend  # runs overlaid in one chart per key
    assert canvas_ink(page, "#charts canvas") > 500


def test_grouping_shows_group_stats_and_band_chart(ui_server, page):
    url, ids, _ = ui_server
    page.goto(f"{url}/experiments/{ids['experiment_id']}?group=params.optimizer&cols=metrics.loss")
    labels = page.locator("#groups tbody tr").evaluate_all("rs => rs.map(r => r.dataset.label)")
    assert set(labels) >= {"adam", "sgd"}
    counts = dict(zip(labels, page.locator("#groups tbody td:nth-child(2)").all_inner_texts(), strict=True))
    assert counts["adam"] == "2" and counts["sgd"] == "2"
    page.click("#group-chart-btn")
    page.wait_for_selector("#group-chart[data-drawn] .uplot canvas")
    assert canvas_ink(page, "#group-chart canvas") > 300


def test_models_pages_and_stage_transition_visible_through_api(ui_server, page):
    url, ids, _ = ui_server
    page.goto(url + "/models")
    row = page.locator("#models tr[data-name='demo-model']")
    assert "@champion" in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_url(re.compile("/models/demo-model$"))
    assert page.locator("#versions tbody tr").count() == 2
    assert HOSTILE in page.locator("#model-description").inner_text()
    page.locator("#versions tr[data-version='1'] a").first.click()
    page.wait_for_url(re.compile("/versions/1$"))
    assert page.locator("#lineage-run").get_attribute("href").endswith(ids["hostile_run_id"])
    assert "x<script>" in page.locator("table.signature").first.inner_text()
    page.select_option("#stage-select", "Production")
    page.click("#transition-btn")
    page.wait_for_load_state()
    assert page.dialogs[-1][0] == "confirm"
    assert page.locator("#current-stage").inner_text() == "Production"
    mv = _api(url, "model-versions/get", name="demo-model", version="1")["model_version"]
    assert mv["current_stage"] == "Production"
    assert "Production" in page.locator("#history").inner_text()
    page.fill("#alias-input", "prod")
    page.click("#alias-btn")
    page.wait_for_load_state()
    rm = _api(url, "registered-models/get", name="demo-model")["registered_model"]
    assert {"alias": "prod", "version": "1"} in rm["aliases"]


def test_hostile_strings_render_as_text_everywhere(ui_server, page):
    url, ids, _ = ui_server
    hostile = ids["hostile_run_id"]
    for path in (
        f"/experiments/{ids['experiment_id']}?cols=params.evil,tags.note",
        f"/runs/{hostile}",
        f"/compare?runs={hostile},{ids['run_ids'][0]}",
        "/models/demo-model",
    ):
        page.goto(url + path)
        page.wait_for_timeout(200)
        body = page.locator("main").inner_text()
        assert "<script>alert(1)</script>" in body, path
        assert page.locator("main script").count() == 0 or path.startswith("/compare")
        _no_script_ran(page)
    page.goto(f"{url}/runs/{hostile}")
    assert page.locator("#run-name").inner_text().startswith("hostile <script>")
    versions = page.locator("#model-versions").inner_text()  # registered versions made from it
    assert "demo-model v1" in versions and "demo-model v2" in versions and "@champion" in versions
    # an artifact whose name is markup: listed, previewed and downloadable as text
    page.locator("#artifact-tree a[data-path='odd']").click()
    odd = page.get_by_text("<img src=x onerror=alert(3)>.txt", exact=True)
    odd.click()
    page.wait_for_selector("#artifact-preview pre")
    assert page.locator("#artifact-preview pre").inner_text().strip() == "named badly"
    assert "<img src=x onerror=alert(3)>.txt" in page.locator("#artifact-preview .preview-name").inner_text()
    assert page.locator("#artifact-preview img, #artifact-tree img").count() == 0
    _no_script_ran(page)
    assert HOSTILE in page.locator("#description").inner_text()
    assert page.js_errors == []


def test_every_page_loads_without_script_errors(ui_server, page):
    url, ids, _ = ui_server
    exp = ids["experiment_id"]
    for path in (
        "/",
        f"/experiments/{exp}",
        f"/experiments/{exp}?group=params.optimizer&cols=metrics.loss",
        f"/runs/{ids['run_ids'][0]}",
        f"/runs/{ids['long_run_id']}",
        f"/compare?runs={','.join(ids['run_ids'])}",
        "/models",
        "/models/demo-model",
        "/models/demo-model/versions/2",
        "/runs/" + "0" * 32,  # an error page
    ):
        page.goto(url + path)
        page.wait_for_load_state("networkidle")
        assert page.locator("header.top .brand").inner_text() == "labkeep", path
    assert page.js_errors == []
    assert page.locator("#page-error").inner_text().startswith("Run with id=")
