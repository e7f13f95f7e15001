"""The documentation site builds with warnings as errors, and its generated references are complete."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_docs_site_builds_strict_with_every_route_and_command(tmp_path):
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rest = (site / "reference" / "rest" / "index.html").read_text()
    from labkeep.server.api.routes import ROUTES

    for route in ROUTES:
        assert route.handler.__name__ in rest, route
    cli = (site / "reference" / "cli" / "index.html").read_text()
    from labkeep.cli import _COMMANDS

    for name in _COMMANDS:
        assert f"labkeep {name}" in cli, name
    settings = (site / "reference" / "settings" / "index.html").read_text()
    from labkeep.config import SETTINGS

    for setting in SETTINGS:
        assert all(name in settings for name in setting.names), setting.names
    client = (site / "api" / "client" / "index.html").read_text()
    assert "get_metric_history" in client and "register_model" in client
