"""Small trained models shared by the model tests (train in milliseconds)."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def iris_like():
    """(X, y): a DataFrame with a double and a long column, and integer labels."""
    X = pd.DataFrame({"a": [0.1, 0.4, 2.5, 3.1, 0.2, 2.9], "b": [0, 0, 1, 1, 0, 1]})
    y = [0, 0, 1, 1, 0, 1]
    return X, y


@pytest.fixture(scope="session")
def classifier(iris_like):
    from sklearn.linear_model import LogisticRegression

    X, y = iris_like
    return LogisticRegression().fit(X, y)


@pytest.fixture(autouse=True)
def _private_skops_cache(monkeypatch, tmp_path_factory):
    """Keep the skops load cache of these tests out of the user's ~/.cache."""
    monkeypatch.setenv("LABKEEP_SKOPS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "skops-cache"))
