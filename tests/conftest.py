"""Shared fixtures: throw-away SQL databases on every backend, free ports, a clean cwd."""

from __future__ import annotations

import os
import socket
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

# Never reach for the Hugging Face hub. huggingface_hub reads these once, at its import, and test
# modules collected early import it indirectly (``import lightning`` does), so they are set here,
# before any test module is imported; a hub lookup otherwise waits out network retries.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from dbs import BACKENDS, temporary_database  # noqa: E402


@pytest.fixture(params=BACKENDS)
def db_uri(request, tmp_path):
    """A new empty database URI, once per backend (sqlite, postgresql, mysql)."""
    with temporary_database(request.param, tmp_path) as uri:
        yield uri


@pytest.fixture
def sqlite_uri(tmp_path):
    return f"sqlite:///{tmp_path}/store.db"


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """Each test runs in its own cwd with no tracking settings leaking in from the shell."""
    for var in list(os.environ):
        if var.startswith(("MLFLOW_", "LABKEEP_")) and var != "LABKEEP_TEST_BACKENDS":
            monkeypatch.delenv(var, raising=False)
    # Tests run from inside this repo's work tree: don't record its git state on every run.
    monkeypatch.setenv("LABKEEP_DISABLE_GIT_CONTEXT", "1")
    monkeypatch.chdir(tmp_path)
    _reset_labkeep_state()
    yield
    _reset_labkeep_state()


def _reset_labkeep_state() -> None:
    """Forget the active run/experiment, explicit URIs and cached stores between tests."""
    from labkeep import config, fluent
    from labkeep.stores import clear_store_cache

    fluent._reset_for_tests()
    config.set_tracking_uri(None)
    config.set_registry_uri(None)
    clear_store_cache()
