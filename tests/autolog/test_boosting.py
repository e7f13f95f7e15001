"""XGBoost flavor and autolog; LightGBM autolog — real libraries on a 200-row set."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import labkeep
from labkeep.exceptions import InvalidParameterValue
from tests.autolog.conftest import artifact_paths

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")


def _last_run():
    return labkeep.get_run(labkeep.last_active_run().info.run_id)


@pytest.fixture
def booster(tabular):
    X, y = tabular
    return xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, label=y), num_boost_round=5)


@pytest.mark.parametrize("fmt", ["ubj", "json"])
def test_xgboost_booster_save_load_pyfunc(tmp_path, tabular, booster, fmt):
    X, _ = tabular
    path = str(tmp_path / "m")
    labkeep.xgboost.save_model(booster, path, model_format=fmt, input_example=X[:3])
    assert (tmp_path / "m" / f"model.{fmt}").is_file()
    expected = booster.predict(xgb.DMatrix(X))
    loaded = labkeep.xgboost.load_model(path)
    assert isinstance(loaded, xgb.Booster)
    np.testing.assert_allclose(loaded.predict(xgb.DMatrix(X)), expected, rtol=1e-6)
    py = labkeep.pyfunc.load_model(path)
    np.testing.assert_allclose(py.predict(X), expected, rtol=1e-6)
    np.testing.assert_allclose(py.predict(pd.DataFrame(X)), expected, rtol=1e-6)


def test_xgboost_sklearn_model_logs_and_loads_as_its_class(tabular):
    X, y = tabular
    clf = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    with labkeep.start_run():
        info = labkeep.xgboost.log_model(clf, name="clf", input_example=X[:2])
    loaded = labkeep.xgboost.load_model(info.model_uri)
    assert isinstance(loaded, xgb.XGBClassifier)
    assert list(loaded.predict(X[:20])) == list(clf.predict(X[:20]))


def test_xgboost_bad_inputs_are_clear_errors(tmp_path, booster):
    with pytest.raises(InvalidParameterValue, match="model_format"):
        labkeep.xgboost.save_model(booster, str(tmp_path / "a"), model_format="pickle")
    with pytest.raises(InvalidParameterValue, match="xgboost.Booster"):
        labkeep.xgboost.save_model(object(), str(tmp_path / "b"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_xgboost_train_autolog(tabular):
    labkeep.autolog(log_input_examples=True)
    X, y = tabular
    dtrain, dval = xgb.DMatrix(X[:150], label=y[:150]), xgb.DMatrix(X[150:], label=y[150:])
    bst = xgb.train({"objective": "binary:logistic", "max_depth": 2, "eta": 0.3}, dtrain, num_boost_round=30,
                    evals=[(dtrain, "train"), (dval, "validation")], early_stopping_rounds=3, verbose_eval=False)  # fmt: skip
    run = _last_run()
    assert run.data.tags["mlflow.autologging"] == "xgboost"
    assert {"objective": "binary:logistic", "max_depth": "2", "num_boost_round": "30",
            "early_stopping_rounds": "3"}.items() <= run.data.params.items()  # fmt: skip
    assert {"train-logloss", "validation-logloss", "best_iteration", "stopped_iteration"} <= set(run.data.metrics)
    assert run.data.metrics["best_iteration"] == bst.best_iteration
    client = labkeep.MlflowClient()
    history = client.get_metric_history(run.info.run_id, "validation-logloss")
    steps = sorted({m.step for m in history})
    n = int(run.data.metrics["stopped_iteration"]) + 1
    assert steps == list(range(n + 1))  # one point per iteration, then the best one at step n
    files = artifact_paths(client, run.info.run_id)
    assert {"feature_importance_weight.json", "feature_importance_weight.png"} <= set(files)
    local = client.download_artifacts(run.info.run_id, "feature_importance_weight.json")
    with open(local) as f:
        importance = json.load(f)
    assert set(importance) <= {"f0", "f1", "f2", "f3"} and importance
    (out,) = run.outputs.model_outputs
    model = labkeep.pyfunc.load_model(f"models:/{out.model_id}")
    assert model.metadata.signature is not None
    np.testing.assert_allclose(model.predict(X[:5]), bst.predict(xgb.DMatrix(X[:5])), rtol=1e-6)
    assert run.inputs.dataset_inputs[0].dataset.name == "dataset"


def test_xgboost_sklearn_api_autolog(tabular):
    labkeep.xgboost.autolog()
    X, y = tabular
    clf = xgb.XGBClassifier(n_estimators=8, max_depth=2).fit(X, y, eval_set=[(X[150:], y[150:])], verbose=False)
    run = _last_run()
    assert run.data.params["max_depth"] == "2"
    history = labkeep.MlflowClient().get_metric_history(run.info.run_id, "validation_0-logloss")
    assert len({m.step for m in history}) == 8
    (out,) = run.outputs.model_outputs
    loaded = labkeep.xgboost.load_model(f"models:/{out.model_id}")
    assert isinstance(loaded, xgb.XGBClassifier)
    assert list(loaded.predict(X[:10])) == list(clf.predict(X[:10]))
    assert len(labkeep.search_runs(output_format="list")) == 1


def test_lightgbm_train_autolog(tabular):
    labkeep.lightgbm.autolog()
    X, y = tabular
    train, valid = lgb.Dataset(X[:150], label=y[:150]), lgb.Dataset(X[150:], label=y[150:])
    bst = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4}, train, num_boost_round=40,
                    valid_sets=[train, valid], valid_names=["train", "valid"],
                    callbacks=[lgb.early_stopping(3, verbose=False)])  # fmt: skip
    run = _last_run()
    assert {"objective": "binary", "num_leaves": "4", "num_boost_round": "40"}.items() <= run.data.params.items()
    assert {"train-binary_logloss", "valid-binary_logloss"} <= set(run.data.metrics)
    if bst.best_iteration < 40:
        assert run.data.metrics["best_iteration"] == bst.best_iteration
    files = artifact_paths(labkeep.MlflowClient(), run.info.run_id)
    for kind in ("split", "gain"):
        assert {f"feature_importance_{kind}.json", f"feature_importance_{kind}.png"} <= set(files)
    (out,) = run.outputs.model_outputs
    loaded = labkeep.lightgbm.load_model(f"models:/{out.model_id}")
    np.testing.assert_allclose(loaded.predict(X[:5]), bst.predict(X[:5]), rtol=1e-6)


def test_lightgbm_sklearn_api_autolog(tabular):
    labkeep.lightgbm.autolog()
    X, y = tabular
    clf = lgb.LGBMClassifier(n_estimators=6, num_leaves=4, verbose=-1).fit(X, y, eval_set=[(X[150:], y[150:])])
    run = _last_run()
    assert run.data.params["num_leaves"] == "4"
    assert len(labkeep.MlflowClient().get_metric_history(run.info.run_id, "valid_0-binary_logloss")) >= 6
    (out,) = run.outputs.model_outputs
    loaded = labkeep.lightgbm.load_model(f"models:/{out.model_id}")
    assert list(loaded.predict(X[:10])) == list(clf.predict(X[:10]))
