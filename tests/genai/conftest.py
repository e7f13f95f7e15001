"""GenAI test fixtures: a SQLite tracking store with an active experiment, and the fake LLM server."""

from __future__ import annotations

import pytest

import labkeep
from tests.genai.fake_llm import FakeLLMServer


@pytest.fixture(autouse=True)
def _reset_tracing():
    from labkeep.genai.tracing import fluent
    from labkeep.stores import clear_store_cache

    fluent._reset_for_tests()
    clear_store_cache()
    yield
    fluent._reset_for_tests()
    clear_store_cache()


@pytest.fixture
def tracking(tmp_path):
    """An embedded SQLite store in the test's directory with experiment 'genai' active."""
    labkeep.set_tracking_uri(f"sqlite:///{tmp_path}/lk.db")
    return labkeep.set_experiment("genai")


@pytest.fixture
def fake_llm():
    with FakeLLMServer() as server:
        yield server
