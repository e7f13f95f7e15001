"""Tests that keep the docs honest: the README's quick start, store locations and CLI overview."""

from __future__ import annotations

import re
import subprocess
import sys
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


def _documented(path: tuple[str, ...], text: str) -> bool:
    """README says ``labkeep a b``, where each word may sit in an ``x|y|z`` list of alternatives."""
    alts = [rf"(?:[\w-]+\|)*{re.escape(w)}(?:\|[\w-]+)*(?![\w-])" for w in path]
    return re.search(r"(?<![\w-])labkeep\s+" + r"\s+".join(alts), text) is not None


def test_every_cli_command_is_in_the_readme():
    import click

    from labkeep.cli import main

    text = _readme().replace("\\|", "|")
    ctx = click.Context(main, info_name="labkeep")
    paths = list(_command_paths(main, ctx))
    assert ("experiments",) in paths and ("runs",) in paths
    missing = [" ".join(p) for p in paths if not _documented(p, text)]
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


def _python_blocks(section: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", _section(_readme(), section), re.S)


def test_readme_mlflow_example_runs(tmp_path):
    """The "Use it like mlflow" example runs as printed, on the embedded store of a fresh cwd."""
    (code,) = _python_blocks("Use it like mlflow")
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "labkeep.db").is_file()
    assert "metrics.loss" in proc.stdout


@pytest.mark.slow
def test_tutorial_runs_end_to_end_and_is_readable_with_the_cli(tmp_path):
    """Quick start #1's job: every step runs (none skipped) and the CLI reads what it logged."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "tutorial.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "SKIPPED" not in out, out
    assert "registered LinearRegressionDemo version 2" in out
    assert "models:/LinearRegressionDemo@champion -> version 2" in out
    assert '"predictions"' in out
    assert (tmp_path / "labkeep.db").is_file() and (tmp_path / "labkeep-artifacts").is_dir()

    labkeep = Path(sys.executable).with_name("labkeep")
    listed = subprocess.run(
        [str(labkeep), "runs", "list", "--experiment-name", "labkeep-tutorial"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    for name in ("linreg-intercept-False", "linreg-intercept-True", "evaluation"):
        assert name in listed.stdout, listed.stdout


def test_readme_lists_every_install_extra():
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    install = _section(_readme(), "Quick start")
    line = install[install.index("pip install -e .") :]
    missing = [name for name in extras if f"`{name}`" not in line]
    assert not missing, f"extras missing from the README's install line: {missing}"


def test_public_api_has_docstrings():
    """Every public fluent function and every public Client method says what it does."""
    import inspect

    import labkeep

    missing = []
    for name in labkeep.__all__:
        obj = getattr(labkeep, name)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and not inspect.getdoc(obj):
            missing.append(name)
    for name, member in inspect.getmembers(labkeep.Client):
        if name.startswith("_") or not (inspect.isfunction(member) or isinstance(member, property)):
            continue
        if not inspect.getdoc(member):
            missing.append(f"Client.{name}")
    assert not missing, f"public API without a docstring: {missing}"
