"""Tests that keep the docs honest: the README's quick start, store locations and CLI overview."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    """The body of the ``## heading`` section."""
    m = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"README has no '## {heading}' section"
    return m.group(1)


def _quickstart_commands() -> list[str]:
    body = _section(_readme(), "Quick start")
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", body, re.S)
    assert block, "the Quick start section has no code block"
    return [ln.split("#", 1)[0].strip() for ln in block.group(1).splitlines() if ln.split("#", 1)[0].strip()]


def test_quickstart_has_exactly_the_two_commands():
    assert _quickstart_commands() == ["bash scripts/quickstart.sh", "bash scripts/test.sh"]


@pytest.mark.parametrize("command", ["bash scripts/quickstart.sh", "bash scripts/test.sh"])
def test_quickstart_scripts_exist_and_parse(command):
    script = ROOT / command.split()[1]
    assert script.is_file(), f"{command} in README but {script} is missing"
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in ci
    assert "scripts/test.sh" in ci


def test_quickstart_script_runs_an_existing_tutorial():
    script = (ROOT / "scripts" / "quickstart.sh").read_text()
    paths = re.findall(r"examples/[\w./-]+\.py", script)
    assert paths, "quickstart.sh runs no examples/*.py"
    for rel in paths:
        assert (ROOT / rel).is_file(), f"quickstart.sh refers to missing {rel}"


def test_readme_states_the_real_default_store_location():
    from labkeep import config

    text = _readme()
    assert f"`{config.DEFAULT_DB_FILE}`" in text
    assert f"`{config.DEFAULT_ARTIFACTS_DIR}/`" in text
    for var in ("LABKEEP_TRACKING_URI", "MLFLOW_TRACKING_URI", "set_tracking_uri"):
        assert var in text


def test_readme_links_resolve():
    for target in re.findall(r"\]\(([^)#:]+)\)", _readme()):
        assert (ROOT / target).exists(), f"README links to missing {target}"


def _command_paths(group, ctx, prefix=()):
    """Every (sub)command path of a click group, loaded the way the CLI loads them."""
    import click

    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, f"`labkeep {' '.join((*prefix, name))}` is listed but does not load"
        if getattr(cmd, "hidden", False):
            continue
        path = (*prefix, name)
        yield path
        if isinstance(cmd, click.Group):
            sub_ctx = click.Context(cmd, info_name=name, parent=ctx)
            yield from _command_paths(cmd, sub_ctx, path)


def _documented(path: tuple[str, ...], lines: list[str]) -> bool:
    """A README line that holds every word of the command path (``a|b|c`` lists count)."""
    words = [re.compile(rf"(?<![\w-]){re.escape(w)}(?![\w-])") for w in path]
    return any("labkeep" in ln and all(w.search(ln) for w in words) for ln in lines)


def test_every_cli_command_is_in_the_readme():
    import click

    from labkeep.cli import main

    lines = _readme().replace("\\|", "|").splitlines()
    ctx = click.Context(main, info_name="labkeep")
    paths = list(_command_paths(main, ctx))
    assert ("experiments",) in paths and ("runs",) in paths
    missing = [" ".join(p) for p in paths if not _documented(p, lines)]
    assert not missing, f"CLI commands not mentioned in README.md: {missing}"


def test_readme_mentions_version_flag_that_works():
    from click.testing import CliRunner

    from labkeep.cli import main
    from labkeep.version import __version__

    assert "labkeep --version" in _readme()
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_bench_readme_exists_and_is_linked():
    assert (ROOT / "bench" / "README.md").is_file()
    assert "bench/README.md" in _section(_readme(), "Benchmarks")
