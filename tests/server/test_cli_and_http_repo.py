"""``labkeep server``/``labkeep ui`` CLI wiring, and the HTTP artifact repository (progress bar, URIs)."""

from __future__ import annotations

import io
import os
import sys

import pytest
from click.testing import CliRunner

from labkeep.artifacts.http import HttpArtifactRepository, resolve_proxy_uri
from labkeep.exceptions import InvalidParameterValue


@pytest.mark.parametrize("command", ["server", "ui"])
def test_cli_commands_are_wired(command):
    from labkeep.cli import main

    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    for option in (
        "--backend-store-uri",
        "--artifacts-destination",
        "--workers",
        "--static-prefix",
        "--allowed-hosts",
    ):
        assert option in result.output


def test_cli_rejects_bad_options():
    from labkeep.cli.server import server

    result = CliRunner().invoke(server, ["--static-prefix", "nolead"])
    assert result.exit_code != 0 and "static-prefix" in result.output
    result = CliRunner().invoke(server, ["--workers", "0"])
    assert result.exit_code != 0 and "workers" in result.output


def test_proxy_uri_resolution():
    assert resolve_proxy_uri("mlflow-artifacts:/1/abc/artifacts", "http://h:5000/prefix") == (
        "http://h:5000/prefix",
        "1/abc/artifacts",
    )
    assert resolve_proxy_uri("mlflow-artifacts://other:9/1/x", "https://h") == ("https://other:9", "1/x")
    assert resolve_proxy_uri("http://h:1/api/2.0/mlflow-artifacts/artifacts/1/x", None) == (
        "http://h:1",
        "1/x",
    )
    with pytest.raises(InvalidParameterValue):
        resolve_proxy_uri("mlflow-artifacts:/1/x", "sqlite:///local.db")
    with pytest.raises(InvalidParameterValue):
        resolve_proxy_uri("http://h/somewhere/else", None)


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_large_transfers_show_progress_on_a_terminal_and_round_trip(client, tmp_path, monkeypatch):
    exp_id = client.post("/api/2.0/mlflow/experiments/create", json={"name": "big"}).json()["experiment_id"]
    run = client.post("/api/2.0/mlflow/runs/create", json={"experiment_id": exp_id}).json()["run"]
    repo = HttpArtifactRepository(run["info"]["artifact_uri"], tracking_uri="http://localhost", client=client)
    data = os.urandom(11 * 1024 * 1024)
    (tmp_path / "big.bin").write_bytes(data)
    (tmp_path / "small.txt").write_text("s")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    repo.log_artifact(str(tmp_path / "big.bin"), "weights")
    repo.log_artifact(str(tmp_path / "small.txt"))
    assert [(f.path, f.is_dir) for f in repo.list_artifacts()] == [("small.txt", False), ("weights", True)]
    out = repo.download_artifacts("", str(tmp_path / "dl"))
    assert open(os.path.join(out, "weights", "big.bin"), "rb").read() == data
    err = terminal.getvalue()
    assert "Uploading big.bin" in err and "Downloading big.bin" in err
    assert err.count("100%") == 2 and "11.0M/11.0M" in err
    assert "small.txt" not in err  # small files transfer silently
    repo.delete_artifacts("weights")
    assert [f.path for f in repo.list_artifacts()] == ["small.txt"]


def test_no_progress_bar_off_a_terminal_or_when_switched_off(client, tmp_path, monkeypatch, capfd):
    run = client.post("/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}).json()["run"]
    repo = HttpArtifactRepository(run["info"]["artifact_uri"], tracking_uri="http://localhost", client=client)
    (tmp_path / "big.bin").write_bytes(b"x" * (11 * 1024 * 1024))
    repo.log_artifact(str(tmp_path / "big.bin"))  # stderr is a pipe here
    assert capfd.readouterr().err == ""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    repo.download_artifacts("big.bin", str(tmp_path / "dl"))
    assert terminal.getvalue() == ""
    assert (tmp_path / "dl" / "big.bin").stat().st_size == 11 * 1024 * 1024


def test_directory_upload_and_download(client, tmp_path):
    run = client.post("/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}).json()["run"]
    repo = HttpArtifactRepository(run["info"]["artifact_uri"], tracking_uri="http://localhost", client=client)
    src = tmp_path / "src"
    for rel in ("a.txt", "d/b.txt", "d/e/c.txt", "f/g.txt"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(rel)
    repo.log_artifacts(str(src), "model")
    assert [f.path for f in repo.list_artifacts("model")] == ["model/a.txt", "model/d", "model/f"]
    out = repo.download_artifacts("model/d", str(tmp_path / "dl"))
    assert sorted(os.path.relpath(os.path.join(dp, f), out) for dp, _, fs in os.walk(out) for f in fs) == [
        "b.txt",
        os.path.join("e", "c.txt"),
    ]
    assert open(os.path.join(out, "e", "c.txt")).read() == "d/e/c.txt"
    whole = repo.download_artifacts("", str(tmp_path / "all"))
    assert open(os.path.join(whole, "model", "f", "g.txt")).read() == "f/g.txt"
