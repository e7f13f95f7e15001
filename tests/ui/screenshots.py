"""Takes the README's UI screenshots (docs/ui-*.png) with headless Chromium over a real
``labkeep ui`` process on the data of fill.py. Not a test; run it by hand:

    .venv/bin/python tests/ui/screenshots.py
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS, LABKEEP, _clean_env, _free_port  # noqa: E402


def main() -> None:
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="labkeep-shots-"))
    uri = f"sqlite:///{root}/store.db"
    env = _clean_env()
    out = subprocess.run([sys.executable, str(HERE / "fill.py"), uri, str(root)], cwd=root, env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    ids = json.loads(out.stdout.strip().splitlines()[-1])
    port = _free_port()
    proc = subprocess.Popen([*LABKEEP, "ui", "--port", str(port), "--backend-store-uri", uri], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        traces = httpx.get(f"{url}/experiments/{ids['model_exp_id']}/traces.json", timeout=10).json()["traces"]
        failing = next(t["trace_id"] for t in traces if t["name"] == "failing")
        shots = {
            "ui-experiments": ("/", None),
            "ui-runs-table": (f"/experiments/{ids['experiment_id']}?cols=metrics.loss,metrics.acc,params.lr,params.optimizer", None),
            "ui-runs-grouped": (f"/experiments/{ids['sweep_exp_id']}?group=params.opt&cols=metrics.val_acc", "#groups"),
            "ui-run-page": (f"/runs/{ids['run_ids'][1]}", "#charts .chart"),
            "ui-running-run": (f"/runs/{ids['running_run_id']}", "#charts .chart"),
            "ui-logged-model": (f"/runs/{ids['model_run_id']}?model={ids['logged_model_id']}&artifact=MLmodel", "#logged-models .preview[data-path]"),
            "ui-compare-sweep": (f"/compare?experiment_id={ids['sweep_exp_id']}", "#single-chart[data-drawn]"),
            "ui-trace": (f"/traces/{failing}", None),
            "ui-model-version": (f"/models/{ids['model']}/versions/1", None),
        }  # fmt: skip
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ctx = browser.new_context(viewport={"width": 1280, "height": 860}, timezone_id="UTC")
            page = ctx.new_page()
            for name, (path, wait) in shots.items():
                page.goto(url + path)
                if wait:
                    page.wait_for_selector(wait)
                page.wait_for_timeout(300)
                if name == "ui-logged-model":
                    page.locator("#logged-models").scroll_into_view_if_needed()
                    page.evaluate("document.querySelector('#logged-models').scrollIntoView()")
                if name == "ui-compare-sweep":
                    page.evaluate("document.querySelector('#single-chart').scrollIntoView()")
                    page.evaluate("window.scrollBy(0, -220)")
                page.screenshot(path=str(REPO / "docs" / f"{name}.png"))
                print("docs/" + name + ".png")
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
