"""Autolog tests: every test starts and ends with no integration patched and no hooks waiting."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _clean_autolog(sqlite_uri):
    import labkeep
    from labkeep.autologging.integrations import _reset_for_tests

    _reset_for_tests()
    labkeep.set_tracking_uri(sqlite_uri)
    yield
    _reset_for_tests()


@pytest.fixture(scope="session")
def tabular():
    """A 200-row binary classification set (4 float features) made here, no download."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def artifact_paths(client, run_id, path=None):
    """Every file under a run's artifact root, recursively."""
    out = []
    for a in client.list_artifacts(run_id, path):
        out += artifact_paths(client, run_id, a.path) if a.is_dir else [a.path]
    return sorted(out)
