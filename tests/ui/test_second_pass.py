"""The UI's second pass (issue 18), one test per finding, in headless Chromium over a real
``labkeep ui`` process (fixtures in conftest; data from fill.py)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.ui.conftest import canvas_ink, wait_js

pytestmark = pytest.mark.browser


def _api(url: str, path: str, **params):
    r = httpx.get(f"{url}/api/2.0/mlflow/{path}", params=params, timeout=10)
    r.raise_for_status()
    return r.json()


def test_1_logged_model_card_files_register_and_version_link(ui_server, page):
    url, ids, _ = ui_server
    model_id = ids["logged_model_id"]
    page.goto(f"{url}/runs/{ids['model_run_id']}")
    card = page.locator(f"#model-{model_id}")
    assert card.locator("h3 a").inner_text() == "echo"
    assert "python_function" in card.locator(".flavors").inner_text()
    assert card.locator("table.signature caption").first.inner_text() == "Signature inputs"
    assert '"x": [1.0, 2.0]' in card.locator(".input-example pre").text_content()
    page.wait_for_selector("#artifact-tree li.muted")
    assert "logged models" in page.locator("#artifact-tree li.muted").inner_text()  # not a bare "No artifacts."
    # every model file is listed and previewable; choosing one deep-links it
    names = {"MLmodel", "requirements.txt", "conda.yaml", "python_env.yaml", "input_example.json"}
    page.wait_for_selector(f"#model-{model_id} .tree a[data-path='MLmodel']")
    assert names <= set(card.locator(".tree a").all_inner_texts())
    card.locator(".tree a[data-path='requirements.txt']").click()
    page.wait_for_selector(f"#model-{model_id} .preview[data-path='requirements.txt']")
    assert "labkeep" in card.locator(".preview pre").inner_text() or "mlflow" in card.locator(".preview pre").inner_text()
    assert "artifact=requirements.txt" in page.url and f"model={model_id}" in page.url
    page.reload()  # the deep link opens the same preview
    page.wait_for_selector(f"#model-{model_id} .preview[data-path='requirements.txt']")
    download = card.locator(".preview a.download").get_attribute("href")
    assert httpx.get(url + download.replace("&amp;", "&"), timeout=10).status_code == 200
    # register it (confirmed) -> a version whose source links back to the logged model
    card.locator(".register-form input[name=name]").fill("echo-registered")
    card.locator(".register-form button").click()
    page.wait_for_url(re.compile(r"/models/echo-registered/versions/1$"))
    assert page.dialogs and page.dialogs[-1][0] == "confirm"
    mv = _api(url, "model-versions/get", name="echo-registered", version="1")["model_version"]
    assert mv["source"] == f"models:/{model_id}"
    page.click("#source-model")
    page.wait_for_url(re.compile(f"/logged-models/{model_id}$"))
    assert page.locator("#logged-model-name").inner_text().startswith("echo")
    assert page.locator(".model-card .registered a").inner_text() == "echo-registered v1"
    assert page.locator("#source-run").get_attribute("href").endswith(ids["model_run_id"])
    assert page.js_errors == []


def test_2_every_experiment_has_runs_traces_models_tabs_with_counts(ui_server, page):
    url, ids, _ = ui_server
    page.goto(url + "/")
    only = page.locator(f"#experiments tr[data-id='{ids['traces_exp_id']}']")
    assert only.locator("td.runs-count").inner_text() == "0"
    assert only.locator("td.traces-count").inner_text() == "1"
    only.locator("td.traces-count a").click()
    page.wait_for_url(re.compile(f"/experiments/{ids['traces_exp_id']}/traces$"))
    assert page.locator("#traces tbody tr").count() == 1
    assert page.locator("#tab-traces").get_attribute("aria-current") == "page"
    def counts():
        wait_js(page, "document.querySelector('#tab-runs .count').hasAttribute('data-total')")
        return {t: page.locator(f"#tab-{t} .count").inner_text() for t in ("runs", "traces", "models")}

    assert counts() == {"runs": "0", "traces": "1", "models": "0"}
    exp = ids["model_exp_id"]
    page.goto(f"{url}/experiments/{exp}")
    assert counts() == {"runs": "2", "traces": "2", "models": "1"}
    page.click("#tab-models")
    page.wait_for_url(re.compile(f"/experiments/{exp}/models$"))
    row = page.locator(f"#logged-models-table tr[data-model-id='{ids['logged_model_id']}']")
    assert row.locator("a").first.inner_text() == "echo"
    page.click("#tab-traces")
    page.wait_for_url(re.compile(f"/experiments/{exp}/traces$"))
    assert page.locator("#traces tbody tr").count() == 2
    page.click("#tab-runs")
    page.wait_for_url(re.compile(f"/experiments/{exp}$"))
    # a nested experiment: the tab counts every run, as the experiments list does
    page.goto(f"{url}/experiments/{ids['experiment_id']}")
    assert counts()["runs"] == "9"
    assert page.js_errors == []


def _post(url: str, path: str, body: dict) -> dict:
    r = httpx.post(f"{url}/api/2.0/mlflow/{path}", json=body, timeout=10)
    r.raise_for_status()
    return r.json()


def test_3_running_run_page_ticks_and_refreshes_until_it_ends(ui_server, page):
    url, ids, _ = ui_server
    run_id = ids["running_run_id"]
    page.add_init_script("window.labkeepLiveMs = 300")
    response = page.goto(f"{url}/runs/{run_id}")
    assert response.status == 200
    assert page.locator("#run-status").inner_text() == "RUNNING"
    assert page.locator("#run-ended").inner_text() == "not yet"
    first = page.locator("#run-duration").inner_text()
    wait_js(page, f"document.querySelector('#run-duration').textContent !== {first!r}")
    row = page.locator("#metrics tr[data-key='loss']")
    assert row.locator(".steps").inner_text() == "5"
    page.wait_for_selector("#charts .chart")
    _post(url, "runs/log-metric", {"run_id": run_id, "key": "loss", "value": 0.01, "timestamp": 1_700_000_000_099, "step": 5})
    wait_js(page, "document.querySelector(\"#metrics tr[data-key='loss'] .steps\").textContent === '6'")
    assert row.locator("td.num").first.inner_text() == "0.01"
    # the chart is redrawn with the new point (step 5), not just the table
    wait_js(page, "[...document.querySelectorAll('#charts .chart')].some(c => c.querySelector('h3').textContent === 'loss'"
                  " && c.__uplot && Array.from(c.__uplot.data[0]).includes(5))")  # fmt: skip
    _post(url, "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": 1_900_000_000_000})
    wait_js(page, "document.querySelector('#run-status').textContent === 'FINISHED'")
    assert page.locator("#live-note").count() == 0
    assert page.locator("#run-ended").inner_text() != "not yet"
    # the runs table shows a ticking duration for running runs too (none left here, so just 200)
    assert httpx.get(f"{url}/runs/{run_id}", timeout=10).status_code == 200
    assert page.js_errors == []


def test_4_zoom_fetches_the_visible_range_at_full_resolution(ui_server, page):
    url, ids, _ = ui_server
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "metric-series" in r.url else None)
    page.goto(f"{url}/runs/{ids['long_run_id']}")
    wait_js(page, "document.querySelector('#charts .chart') && document.querySelector('#charts .chart').__uplot")
    n_full = page.evaluate("document.querySelector('#charts .chart').__uplot.data[0].length")
    assert n_full < 1000  # 25,000 points drawn from buckets
    # zoom (what a drag does) to steps 12300..12400: the chart refetches that range in full
    page.evaluate("document.querySelector('#charts .chart').__uplot.setScale('x', {min: 12300, max: 12400})")
    wait_js(page, "document.querySelector('#charts .chart').hasAttribute('data-detail')")
    xs = page.evaluate("Array.from(document.querySelector('#charts .chart').__uplot.data[0])")
    assert [x for x in xs if 12300 <= x <= 12400] == list(range(12300, 12401))
    ys = page.evaluate("Array.from(document.querySelector('#charts .chart').__uplot.data[1])")
    assert max(ys) == 100.0  # the spike at step 12345 is a real point now, not a bucket's max
    assert any("x_min=12300" in u and "x_max=12400" in u for u in requests)
    # double-click resets to the whole (downsampled) series
    page.dblclick("#charts .chart .u-over")
    wait_js(page, "!document.querySelector('#charts .chart').hasAttribute('data-detail')")
    assert page.evaluate("document.querySelector('#charts .chart').__uplot.data[0].length") == n_full
    # the API refuses a bad window with a clear error
    r = httpx.get(f"{url}/ui-api/metric-series", params={"run_ids": ids["long_run_id"], "key": "loss", "x_min": "5", "x_max": "1"})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert page.js_errors == []


def test_5_compare_a_sweep_of_120_runs(ui_server, page):
    url, ids, _ = ui_server
    page.goto(f"{url}/experiments/{ids['sweep_exp_id']}")
    page.click("#compare-all")
    page.wait_for_url(re.compile(r"/compare\?experiment_id="))
    assert page.locator("h1").inner_text().startswith("Compare 120 runs")
    # a sweep's table is transposed (one row per run) and stays inside the window
    assert page.locator("#compare-table").get_attribute("data-layout") == "rows"
    assert page.locator("#compare-table tbody tr").count() == 120
    assert page.evaluate("document.documentElement.scrollWidth") <= 1300
    assert page.evaluate("getComputedStyle(document.querySelector('#compare-table thead th')).position") == "sticky"
    # the metric logged once per run: a bar per run, not dots at step 0
    assert page.locator("#charts").count() == 0
    wait_js(page, "document.querySelector('#single-chart').getAttribute('data-drawn') === '120'")
    assert canvas_ink(page, "#single-chart") > 2000
    # against a param: a scatter whose points name their run
    page.select_option("#single-x", "params.lr")
    page.locator("#single-chart").scroll_into_view_if_needed()
    box = page.locator("#single-chart").bounding_box()
    pts = page.evaluate("document.querySelector('#single-chart').__points.slice(0, 1)")
    scale = box["width"] / page.evaluate("document.querySelector('#single-chart').width")
    page.mouse.move(box["x"] + pts[0]["x"] * scale, box["y"] + pts[0]["y"] * scale)
    tip = page.locator("#single-chart + .tip")
    assert tip.is_visible() and tip.inner_text().startswith("sweep-")
    # the other view of the table: one column per run, scrolling inside its box
    page.click("#layout-columns")
    page.wait_for_url(re.compile("layout=columns"))
    assert page.locator("#compare-table thead th").count() == 121
    assert page.evaluate("document.documentElement.scrollWidth") <= 1300
    assert page.js_errors == []


def test_6_back_to_the_runs_table_recounts_checked_runs(ui_server, page):
    url, ids, _ = ui_server
    page.goto(f"{url}/experiments/{ids['experiment_id']}")
    boxes = page.locator("#runs tr.run:not([hidden]) input.pick")
    boxes.nth(0).check()
    boxes.nth(1).check()
    assert page.locator("#compare-btn").inner_text() == "Compare selected (2)"
    page.click("#compare-btn")
    page.wait_for_url(re.compile("/compare"))
    page.go_back()
    page.wait_for_selector("#runs")
    page.wait_for_load_state("load")
    checked = page.evaluate("document.querySelectorAll('#runs input.pick:checked').length")
    assert page.locator("#compare-btn").inner_text() == f"Compare selected ({checked})"
    assert page.locator("#compare-btn").is_disabled() == (checked == 0)
    # what the browser restores is counted, however it restores it (bfcache or form state)
    page.evaluate("document.querySelectorAll('#runs input.pick')[2].checked = true")
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    assert page.locator("#compare-btn").inner_text() == f"Compare selected ({checked + 1})"
    assert page.js_errors == []


def test_7_trace_detail_shows_exceptions_readably_and_durations_agree(ui_server, page):
    url, ids, _ = ui_server
    page.goto(f"{url}/experiments/{ids['model_exp_id']}/traces")
    rows = page.locator("#traces tbody tr")
    durations = {}
    for i in range(rows.count()):
        r = rows.nth(i)
        durations[r.get_attribute("data-trace-id")] = (r.locator("td").nth(1).inner_text(), r.locator(".trace-duration").inner_text())
    failing = next(t for t, (name, _) in durations.items() if name == "failing")
    page.goto(f"{url}/traces/{failing}")
    # the list, the overview and the root span say the same duration
    assert page.locator("#trace-duration").inner_text() == durations[failing][1]
    assert page.locator("#spans .span-duration").first.inner_text() == durations[failing][1]
    ev = page.locator(".event-attributes")
    assert ev.locator("tr[data-key='exception.type'] .attr-value").inner_text() == "ValueError"  # not "\"ValueError\""
    assert ev.locator("tr[data-key='exception.message'] .attr-value").inner_text() == "bad <b>input</b>\nsecond line"
    stack = ev.locator("tr[data-key='exception.stacktrace'] pre")
    text = stack.inner_text()
    assert "\\n  File" not in text and text.count("\n") >= 3 and text.splitlines()[0] == "Traceback (most recent call last):"
    assert page.js_errors == []


def test_8_registry_editing_with_confirmation(ui_server, page):
    url, ids, _ = ui_server
    src = f"runs:/{ids['hostile_run_id']}/model"
    httpx.post(f"{url}/api/2.0/mlflow/registered-models/create", json={"name": "edit-me"}, timeout=10).raise_for_status()
    for _ in range(2):
        httpx.post(f"{url}/api/2.0/mlflow/model-versions/create", json={"name": "edit-me", "source": src}, timeout=10).raise_for_status()
    page.goto(f"{url}/models/edit-me/versions/2")
    # version tags: add, shown, delete (confirmed)
    form = page.locator("#version-tags-form")
    form.locator("input[name=key]").fill("reviewed")
    form.locator("input[name=value]").fill("yes")
    form.locator("button").click()
    page.wait_for_selector("#version-tags tr[data-key='reviewed']")
    mv = _api(url, "model-versions/get", name="edit-me", version="2")["model_version"]
    assert {"key": "reviewed", "value": "yes"} in mv["tags"]
    page.locator("#version-tags tr[data-key='reviewed'] button.danger").click()
    page.wait_for_selector("#version-tags tr.empty")
    assert page.dialogs[-1] == ("confirm", "Delete the tag reviewed of edit-me v2?")
    # version description
    page.click("text=Edit description")
    page.fill("#version-description-form textarea", "checked by QA")
    page.click("#version-description-form button")
    page.wait_for_load_state()
    assert page.locator("#version-description").inner_text() == "checked by QA"
    # model tags
    page.goto(f"{url}/models/edit-me")
    form = page.locator("#model-tags-form")
    form.locator("input[name=key]").fill("owner")
    form.locator("input[name=value]").fill("team-a")
    form.locator("button").click()
    page.wait_for_selector("#model-tags tr[data-key='owner']")
    assert _api(url, "registered-models/get", name="edit-me")["registered_model"]["tags"] == [{"key": "owner", "value": "team-a"}]
    page.locator("#model-tags tr[data-key='owner'] button.danger").click()
    page.wait_for_selector("#model-tags tr.empty")
    # delete a version (confirmed): back on the model page with one version left
    page.goto(f"{url}/models/edit-me/versions/2")
    page.click("#delete-version-form button")
    page.wait_for_url(re.compile(r"/models/edit-me$"))
    assert page.dialogs[-1][1].startswith("Delete edit-me v2?")
    assert page.locator("#versions tbody tr").count() == 1
    # delete the model (confirmed)
    page.click("#delete-model-form button")
    page.wait_for_url(re.compile(r"/models$"))
    assert httpx.get(f"{url}/api/2.0/mlflow/registered-models/get", params={"name": "edit-me"}, timeout=10).status_code == 404
    # a cross-site form post is refused
    r = httpx.post(f"{url}/models/demo-model/action", data={"action": "delete"}, headers={"Origin": "http://evil.example"}, timeout=10)
    assert r.status_code == 403
    assert _api(url, "registered-models/get", name="demo-model")["registered_model"]["name"] == "demo-model"
    assert page.js_errors == []


def test_9_context_description_tags_local_times_and_steps(ui_server, browser):
    url, ids, _ = ui_server
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Kolkata")
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{url}/experiments/{ids['model_exp_id']}")
        assert page.locator("#exp-description").inner_text() == "Models of the **demo**"
        assert page.locator("#exp-tags .badge").all_inner_texts() == ["team = ml"]
        sys_tags = page.locator("#exp-system-tags")
        assert sys_tags.locator("tr[data-key='mlflow.domain']").count() == 1
        assert sys_tags.locator("form, button, input").count() == 0  # read-only
        # times: the viewer's zone (UTC+05:30 here), with the zone named; UTC stays in the title
        started = page.locator("#runs tbody tr.run time").first
        ms = int(started.get_attribute("data-ms"))
        import datetime as dt

        local = dt.datetime.fromtimestamp(ms / 1000, dt.timezone(dt.timedelta(hours=5, minutes=30)))
        assert started.inner_text() == local.strftime("%Y-%m-%d %H:%M:%S") + " GMT+5:30"
        assert started.get_attribute("title").endswith(" UTC")
        # run page: the once-logged metric is one step although log_model linked a copy
        page.goto(f"{url}/runs/{ids['model_run_id']}")
        assert page.locator("#metrics tr[data-key='score'] .steps").inner_text() == "1"
        assert page.locator("#tags tr[data-key='mlflow.user']").count() == 0
        assert page.locator("#system-tags tr[data-key='mlflow.user']").count() == 1
        assert page.locator("#system-tags button").count() == 0
        assert "GMT+5:30" in page.locator("#overview time").first.inner_text()
        assert errors == []
    finally:
        ctx.close()


def test_10_links_keyboard_text_alternatives_url_state_legends_and_groups(ui_server, page):
    url, ids, _ = ui_server
    run = ids["hostile_run_id"]
    # the artifact tree is made of real links: Tab to one, Enter opens it and puts it in the URL
    page.goto(f"{url}/runs/{run}")
    link = page.locator("#artifact-tree a[data-path='config.yaml']")
    assert "artifact=config.yaml" in link.get_attribute("href")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#artifact-preview[data-path='config.yaml']")
    assert page.url.endswith("artifact=config.yaml")
    # a deep link opens the folders down to its file
    page.goto(f"{url}/runs/{run}?artifact=logs/train.log")
    page.wait_for_selector("#artifact-preview[data-path='logs/train.log']")
    assert page.locator("#artifact-tree a[data-path='logs']").get_attribute("aria-expanded") == "true"
    assert page.locator("#artifact-tree a.sel").get_attribute("data-path") == "logs/train.log"
    # charts: a data table as text alternative, and axis / log / smoothing kept in the URL
    page.goto(f"{url}/runs/{ids['run_ids'][0]}")
    page.wait_for_selector("#charts .chart")
    table = page.locator("#charts .chart details.chart-table").first
    table.locator("summary").click()
    # the rows are built when the table is first opened: wait for the page to say it has built them
    page.wait_for_selector("#charts .chart details.chart-table[data-rows]")
    assert table.get_attribute("open") is not None and table.get_attribute("data-rows") == "50"
    assert table.locator("tbody tr").count() == 50
    page.check("#chart-controls .log-scale")
    page.select_option("#chart-controls .x-axis", "relative")
    wait_js(page, "location.search.includes('log=1') && location.search.includes('chart_x=relative')")
    page.reload()
    page.wait_for_selector("#charts .chart")
    assert page.locator("#chart-controls .log-scale").is_checked()
    assert page.locator("#chart-controls .x-axis").input_value() == "relative"
    # compare: the parallel-coordinates colour legend, scatter tooltips naming runs
    page.goto(f"{url}/compare?runs={','.join(ids['run_ids'])}")
    legend = page.locator("#pc-legend")
    assert "acc" in legend.inner_text() or "loss" in legend.inner_text()
    assert legend.locator(".bar").count() == 1 and legend.locator(".lo").inner_text() != ""
    page.locator("#scatter").scroll_into_view_if_needed()
    box = page.locator("#scatter").bounding_box()
    pt = page.evaluate("document.querySelector('#scatter').__points[0]")
    scale = box["width"] / page.evaluate("document.querySelector('#scatter').width")
    page.mouse.move(box["x"] + pt["x"] * scale, box["y"] + pt["y"] * scale)
    assert page.locator("#scatter + .tip").inner_text().startswith("trial-")
    # groups: every run of each group is charted, and group counts add up to the table's count
    page.goto(f"{url}/experiments/{ids['sweep_exp_id']}?group=params.opt&cols=metrics.val_acc")
    counts = page.locator("#groups tbody td:nth-child(2)").all_inner_texts()
    assert sorted(counts) == ["60", "60"]
    page.click("#group-chart-btn")
    page.wait_for_selector("#group-chart[data-drawn]")
    assert page.get_attribute("#group-chart", "data-runs") == "120"
    page.goto(f"{url}/experiments/{ids['experiment_id']}?group=params.optimizer&cols=metrics.loss")
    wait_js(page, "document.querySelector('#row-count').hasAttribute('data-total')")
    total = int(page.get_attribute("#row-count", "data-total"))
    assert sum(int(c) for c in page.locator("#groups tbody td:nth-child(2)").all_inner_texts()) == total
    assert page.js_errors == []
