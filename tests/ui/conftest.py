"""Browser-test fixtures: a real ``labkeep ui`` process over a store filled through the labkeep API,
and headless Debian Chromium driven by Playwright (sync API, no pytest-playwright needed).

Chromium comes from the Debian package (``/usr/bin/chromium``); ``playwright install`` is never
used. A failing test leaves a screenshot of its page in ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get("LABKEEP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
LABKEEP = [sys.executable, "-c", "from labkeep.cli import main; main()"]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LABKEEP_"))}
    env["LABKEEP_DISABLE_GIT_CONTEXT"] = "1"  # don't record this repo's git state on every test run
    return env


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> Iterator[str]:
    """Start ``labkeep <args> --port N`` as a process, wait for ``/health``, yield its base URL and
    stop the whole process group afterwards."""
    port = _free_port()
    proc = subprocess.Popen(
        [*LABKEEP, *args, "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"labkeep {args[0]} exited: {proc.stdout.read().decode()}")
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"labkeep {args[0]} did not become healthy in {timeout:.0f} s")
            time.sleep(0.05)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory):
    """``(base_url, ids, store_uri)`` of a running ``labkeep ui`` over a filled SQLite store."""
    root = tmp_path_factory.mktemp("ui")
    uri = f"sqlite:///{root}/store.db"
    env = _clean_env()
    filled = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("fill.py")), uri, str(root)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert filled.returncode == 0, filled.stderr
    ids = json.loads(filled.stdout.strip().splitlines()[-1])
    with running_server(["ui", "--backend-store-uri", uri], cwd=root, env=env, timeout=30) as url:
        yield url, ids, uri


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def page(browser, request):
    """A fresh page; dialogs are recorded (and confirms accepted); a screenshot is kept on failure."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    pg.dialogs = []

    def on_dialog(d):
        pg.dialogs.append((d.type, d.message))
        d.accept()

    pg.on("dialog", on_dialog)
    pg.js_errors = []
    pg.on("pageerror", lambda e: pg.js_errors.append(str(e)))
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-120:]
        try:
            pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception:  # a crashed page: nothing to save
            pass
    context.close()


def canvas_ink(page, selector: str) -> int:
    """Number of painted (non-white, non-transparent) pixels over every canvas matching ``selector``."""
    return page.evaluate(
        """(sel) => {
            let n = 0;
            for (const c of document.querySelectorAll(sel)) {
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                for (let i = 0; i < d.length; i += 4) {
                    if (d[i + 3] > 0 && !(d[i] > 245 && d[i + 1] > 245 && d[i + 2] > 245)) n++;
                }
            }
            return n;
        }""",
        selector,
    )


def wait_js(page, expr: str, timeout: float = 15.0) -> None:
    """Poll a JS expression until truthy (``page.wait_for_function`` evaluates its predicate with
    ``eval`` inside the page, which the UI's Content-Security-Policy refuses)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expr):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expr}")
        page.wait_for_timeout(50)
