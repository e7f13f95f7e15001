"""Cross-loading with the real mlflow 3.17.2: labkeep-saved models load in mlflow and vice versa."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import labkeep.pyfunc
import labkeep.sklearn
from labkeep.exceptions import InvalidParameterValue

pytestmark = pytest.mark.compat
pytest.importorskip("mlflow")
import mlflow  # noqa: E402
import mlflow.pyfunc  # noqa: E402
import mlflow.sklearn  # noqa: E402

# explicit requirements skip mlflow's seconds-long requirement inference subprocess
REQS = ["scikit-learn", "skops", "cloudpickle"]


@pytest.mark.parametrize("fmt", ["skops", "pickle", "cloudpickle"])
def test_mlflow_saved_sklearn_loads_in_labkeep(tmp_path, classifier, iris_like, fmt):
    X, _ = iris_like
    path = str(tmp_path / fmt)
    mlflow.sklearn.save_model(
        classifier, path, serialization_format=fmt, input_example=X.head(2), pip_requirements=REQS
    )
    expected = list(classifier.predict(X))
    assert list(labkeep.sklearn.load_model(path).predict(X)) == expected
    model = labkeep.pyfunc.load_model(path)
    assert list(model.predict(X)) == expected
    with pytest.raises(InvalidParameterValue, match="'b'"):  # mlflow's signature is enforced by labkeep
        model.predict(X[["a"]])


def test_labkeep_saved_sklearn_loads_in_mlflow(tmp_path, classifier, iris_like):
    X, _ = iris_like
    path = str(tmp_path / "m")
    labkeep.sklearn.save_model(classifier, path, input_example=X.head(2))
    expected = list(classifier.predict(X))
    assert list(mlflow.sklearn.load_model(path).predict(X)) == expected
    py = mlflow.pyfunc.load_model(path)
    assert list(py.predict(X)) == expected
    assert py.metadata.get_input_schema().input_names() == ["a", "b"]
    assert mlflow.models.Model.load(path).saved_input_example_info["type"] == "dataframe"


def test_labkeep_pickle_sklearn_loads_in_mlflow(tmp_path, classifier, iris_like):
    X, _ = iris_like
    path = str(tmp_path / "m")
    labkeep.sklearn.save_model(classifier, path, serialization_format="cloudpickle")
    assert list(mlflow.sklearn.load_model(path).predict(X)) == list(classifier.predict(X))


class _MlflowAdder(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input["x"] + (params or {}).get("add", 0)


def test_mlflow_python_model_loads_in_labkeep(tmp_path):
    path = str(tmp_path / "m")
    mlflow.pyfunc.save_model(
        path,
        python_model=_MlflowAdder(),
        input_example=(pd.DataFrame({"x": [1.0]}), {"add": 1}),
        pip_requirements=["mlflow"],
    )
    model = labkeep.pyfunc.load_model(path)
    assert model.predict(pd.DataFrame({"x": [1.0, 2.0]})).tolist() == [2.0, 3.0]
    assert model.predict(pd.DataFrame({"x": [1.0]}), params={"add": 10}).tolist() == [11.0]


def test_labkeep_python_model_loads_in_mlflow(tmp_path):
    from tests.models.test_pyfunc import Scaler

    (tmp_path / "f.txt").write_text("2")
    path = str(tmp_path / "m")
    labkeep.pyfunc.save_model(
        path,
        python_model=Scaler(),
        artifacts={"factor": str(tmp_path / "f.txt")},
        input_example=pd.DataFrame({"x": [1.0]}),
    )
    model = mlflow.pyfunc.load_model(path)
    assert model.predict(pd.DataFrame({"x": [1.0, 3.0]})).tolist() == [2.0, 6.0]


def test_lightgbm_both_ways(tmp_path):
    lgb = pytest.importorskip("lightgbm")
    import mlflow.lightgbm

    import labkeep.lightgbm

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    y = (X["a"] > 0).astype(int)
    clf = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    booster = lgb.train({"verbose": -1, "objective": "binary"}, lgb.Dataset(X, y), num_boost_round=3)
    for name, model in (("clf", clf), ("booster", booster)):
        ours, theirs = str(tmp_path / f"lk-{name}"), str(tmp_path / f"ml-{name}")
        labkeep.lightgbm.save_model(model, ours, input_example=X.head(3))
        mlflow.lightgbm.save_model(model, theirs, pip_requirements=["lightgbm"])
        expected = np.asarray(model.predict(X))
        np.testing.assert_allclose(mlflow.pyfunc.load_model(ours).predict(X), expected)
        np.testing.assert_allclose(np.asarray(mlflow.lightgbm.load_model(ours).predict(X)), expected)
        np.testing.assert_allclose(labkeep.pyfunc.load_model(theirs).predict(X), expected)
        np.testing.assert_allclose(np.asarray(labkeep.lightgbm.load_model(theirs).predict(X)), expected)
