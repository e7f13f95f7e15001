"""``labkeep models`` registry commands: CliRunner for each command, plus one real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from labkeep.cli.models_registry import REGISTRY_COMMANDS


@pytest.fixture
def uri(tmp_path):
    return f"sqlite:///{tmp_path}/cli.db"


@pytest.fixture
def models_cli():
    import click

    group = click.Group("models")
    for cmd in REGISTRY_COMMANDS:
        group.add_command(cmd)
    return group


@pytest.fixture
def registered(uri, tmp_path):
    """Model 'Churn' with versions 1 and 2 registered from a run's artifacts."""
    from labkeep.client import Client

    client = Client(uri)
    exp = client.create_experiment("cli")
    run = client.create_run(exp)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "f.txt").write_text("x")
    client.log_artifacts(run.info.run_id, str(tmp_path / "model"), "model")
    client.register_model(f"runs:/{run.info.run_id}/model", "Churn")
    client.register_model(f"runs:/{run.info.run_id}/model", "Churn")
    return client


def _run(cli, uri, *args):
    return CliRunner().invoke(cli, [*args, "--tracking-uri", uri], catch_exceptions=False)


def test_commands_exported():
    assert sorted(c.name for c in REGISTRY_COMMANDS) == sorted(
        ["list", "describe", "versions", "transition", "alias", "history", "delete", "rename"]
    )


def test_transition_alias_history(models_cli, uri, registered):
    r = _run(models_cli, uri, "transition", "Churn", "1", "staging", "-m", "first look")
    assert r.exit_code == 0 and "Staging" in r.output
    r = _run(models_cli, uri, "transition", "Churn", "2", "Staging", "--archive-existing")
    assert r.exit_code == 0
    assert registered.get_model_version("Churn", "1").current_stage == "Archived"
    assert _run(models_cli, uri, "alias", "Churn", "champion", "2", "-m", "best").exit_code == 0
    assert registered.get_model_version_by_alias("Churn", "champion").version == "2"
    r = _run(models_cli, uri, "history", "Churn")
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert "stage None -> Staging" in lines[2] and "first look" in lines[2]
    assert "stage Staging -> Archived" in r.output and "alias champion: (new) -> v2" in r.output
    events = json.loads(_run(models_cli, uri, "history", "Churn", "--version", "1", "--json").output)
    assert [(e["from_value"], e["to_value"]) for e in events] == [
        ("None", "Staging"),
        ("Staging", "Archived"),
    ]
    assert _run(models_cli, uri, "alias", "Churn", "champion", "--delete").exit_code == 0
    assert registered.get_registered_model("Churn").aliases == {}


def test_list_describe_versions(models_cli, uri, registered):
    registered.set_registered_model_alias("Churn", "prod", "2")
    r = _run(models_cli, uri, "list")
    assert r.exit_code == 0 and "Churn" in r.output and "None: v2" in r.output and "prod -> v2" in r.output
    data = json.loads(_run(models_cli, uri, "list", "--json").output)
    assert [m["name"] for m in data] == ["Churn"]
    r = _run(models_cli, uri, "describe", "Churn")
    assert r.exit_code == 0 and "Aliases:      prod -> v2" in r.output
    versions = json.loads(_run(models_cli, uri, "versions", "Churn", "--json").output)
    assert [v["version"] for v in versions] == ["2", "1"]
    assert all(v["status"] == "READY" for v in versions)


def test_rename_and_delete(models_cli, uri, registered):
    assert _run(models_cli, uri, "rename", "Churn", "Retention").exit_code == 0
    assert _run(models_cli, uri, "delete", "Retention", "--version", "1").exit_code == 0
    assert [v.version for v in registered.search_model_versions("name = 'Retention'")] == ["2"]
    assert _run(models_cli, uri, "delete", "Retention").exit_code == 0
    assert registered.search_registered_models() == []


@pytest.mark.parametrize(
    "args",
    [
        ["transition", "Churn", "1", "Prod"],
        ["transition", "Churn", "x", "Staging"],
        ["alias", "Churn", "latest", "1"],
        ["alias", "Churn", "v3", "1"],
        ["alias", "Churn", "champ"],
        ["describe", "Nope"],
        ["history", "Nope"],
        ["rename", "Churn", "a/b"],
    ],
)
def test_bad_input_exits_nonzero_with_one_line(uri, registered, args):
    from labkeep.cli import main

    r = CliRunner().invoke(main, ["models", *args, "--tracking-uri", uri])
    assert r.exit_code != 0
    assert "Traceback" not in r.output
    errors = [line for line in r.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and r.output.strip().splitlines()[-1] == errors[0]


def test_real_subprocess(uri, registered, tmp_path):
    exe = [os.path.join(os.path.dirname(sys.executable), "labkeep")]  # the installed console script
    out = subprocess.run(
        [*exe, "models", "transition", "Churn", "2", "Production", "--tracking-uri", uri, "-m", "go"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    out = subprocess.run(
        [*exe, "models", "history", "Churn", "--tracking-uri", uri, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert [(e["to_value"], e["comment"]) for e in json.loads(out.stdout)] == [("Production", "go")]
    bad = subprocess.run(
        [*exe, "models", "transition", "Churn", "2", "Prod", "--tracking-uri", uri],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "Staging" in bad.stderr
