"""Cross-loading with the real mlflow 3.17.2: XGBoost and PyTorch models saved by labkeep load in
mlflow, and mlflow's load in labkeep (MLmodel both ways)."""

from __future__ import annotations

import numpy as np
import pytest

import labkeep

pytestmark = pytest.mark.compat
pytest.importorskip("mlflow")
xgb = pytest.importorskip("xgboost")
import mlflow  # noqa: E402
import mlflow.pyfunc  # noqa: E402
import mlflow.xgboost  # noqa: E402


@pytest.fixture(scope="module")
def xgb_models():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=y), num_boost_round=4)
    clf = xgb.XGBClassifier(n_estimators=4, max_depth=2).fit(X, y)
    return X, booster, clf


def test_labkeep_xgboost_loads_in_mlflow(tmp_path, xgb_models):
    X, booster, clf = xgb_models
    labkeep.xgboost.save_model(booster, str(tmp_path / "b"), input_example=X[:2])
    labkeep.xgboost.save_model(clf, str(tmp_path / "c"), model_format="json")
    expected = booster.predict(xgb.DMatrix(X))
    np.testing.assert_allclose(mlflow.xgboost.load_model(str(tmp_path / "b")).predict(xgb.DMatrix(X)), expected)
    np.testing.assert_allclose(mlflow.pyfunc.load_model(str(tmp_path / "b")).predict(X), expected, rtol=1e-6)
    loaded = mlflow.xgboost.load_model(str(tmp_path / "c"))
    assert isinstance(loaded, xgb.XGBClassifier)
    assert list(loaded.predict(X[:20])) == list(clf.predict(X[:20]))


def test_mlflow_xgboost_loads_in_labkeep(tmp_path, xgb_models):
    X, booster, clf = xgb_models
    mlflow.xgboost.save_model(booster, str(tmp_path / "b"), input_example=X[:2], pip_requirements=["xgboost"])
    mlflow.xgboost.save_model(clf, str(tmp_path / "c"), pip_requirements=["xgboost"])
    expected = booster.predict(xgb.DMatrix(X))
    np.testing.assert_allclose(labkeep.xgboost.load_model(str(tmp_path / "b")).predict(xgb.DMatrix(X)), expected)
    np.testing.assert_allclose(labkeep.pyfunc.load_model(str(tmp_path / "b")).predict(X), expected, rtol=1e-6)
    assert list(labkeep.xgboost.load_model(str(tmp_path / "c")).predict(X[:20])) == list(clf.predict(X[:20]))


@pytest.mark.torch
@pytest.mark.parametrize("fmt", ["pt2", "pickle"])
def test_pytorch_models_load_both_ways(tmp_path, monkeypatch, fmt):
    torch = pytest.importorskip("torch")
    import mlflow.pytorch

    from tests.autolog.torch_models import TwoLayer, make_data

    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    torch.manual_seed(0)
    model = TwoLayer().eval()
    X, _ = make_data()
    expected = model(X).detach().numpy()
    example = X[:3].numpy()
    labkeep.pytorch.save_model(model, str(tmp_path / "lk"), input_example=example, serialization_format=fmt)
    mlflow.pytorch.save_model(model, str(tmp_path / "ml"), input_example=example, serialization_format=fmt,
                              pip_requirements=["torch"])  # fmt: skip
    for path in ("lk", "ml"):
        target = str(tmp_path / path)
        for loader in (mlflow.pytorch.load_model, labkeep.pytorch.load_model):
            np.testing.assert_allclose(loader(target)(X).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
        for loader in (mlflow.pyfunc.load_model, labkeep.pyfunc.load_model):
            out = loader(target).predict(X.numpy())
            np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-6)
