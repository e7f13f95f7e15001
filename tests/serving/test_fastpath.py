"""The numeric fast path gives exactly the general path's predictions, and only when it may."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import labkeep.pyfunc
import labkeep.sklearn
from labkeep.serving import payloads
from labkeep.serving.fastpath import FastPath


def _fit(model, tmp_path, name, X, y):
    path = str(tmp_path / name)
    trusted = ["sklearn.tree._tree.Tree"]  # forests need it, like in mlflow
    labkeep.sklearn.save_model(model.fit(X, y), path, input_example=X.head(2), skops_trusted_types=trusted)
    return labkeep.pyfunc.load_model(path)


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x": rng.normal(size=40), "y": rng.normal(size=40), "n": rng.integers(0, 5, 40)})
    return X, (X["x"] + X["y"] > 0).astype(int)


def test_fast_and_general_paths_agree(tmp_path, data):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = data
    for name, est in (
        ("lr", LogisticRegression()),
        ("pipe", make_pipeline(StandardScaler(), LogisticRegression())),
        ("rf", RandomForestClassifier(n_estimators=5, random_state=0)),
    ):
        model = _fit(est, tmp_path, name, X, y)
        fast = FastPath(model)
        assert fast.enabled, name
        obj = {"dataframe_split": json.loads(X.to_json(orient="split", index=False))}
        body = json.dumps(obj).encode()
        got = fast.predict(obj, body)
        assert got is not None
        general, _ = payloads.parse_json_object(obj, model.input_schema)
        assert got.tolist() == model.predict(general).tolist() == est.predict(X).tolist()


def test_fast_path_declines_what_it_cannot_prove(tmp_path, data):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = data
    ct = make_pipeline(ColumnTransformer([("s", StandardScaler(), ["x", "y"])]), LogisticRegression())
    assert not FastPath(_fit(ct, tmp_path, "ct", X, y)).enabled  # selects columns by name

    model = _fit(LogisticRegression(), tmp_path, "lr", X, y)
    fast = FastPath(model)
    cases = [
        {"dataframe_split": {"columns": ["y", "x", "n"], "data": [[1.0, 2.0, 1]]}},  # other order
        {"dataframe_split": {"columns": ["x", "y", "n"], "data": [[1.0, 2.0, 1.5]]}},  # non-integral long
        {"dataframe_split": {"columns": ["x", "y", "n"], "data": [[True, 2.0, 1]]}},  # boolean
        {"dataframe_split": {"columns": ["x", "y", "n"], "data": [["a", 2.0, 1]]}},  # string
        {"dataframe_split": {"columns": ["x", "y", "n"], "data": [[None, 2.0, 1]]}},  # null
        {"dataframe_records": [{"x": 1.0, "y": 2.0, "n": 1}]},
    ]
    for obj in cases:
        assert fast.predict(obj, json.dumps(obj).encode()) is None, obj
    ok = {"inputs": [[1.0, 2.0, 1]]}
    assert fast.predict(ok, json.dumps(ok).encode()) is not None
