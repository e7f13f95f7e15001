"""scikit-learn flavor: directory layout, MLmodel, env files, serialization formats, safety."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import yaml

import labkeep.pyfunc
import labkeep.sklearn
from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.models import Model


def test_save_layout_and_mlmodel(tmp_path, classifier, iris_like):
    X, _ = iris_like
    path = tmp_path / "m"
    labkeep.sklearn.save_model(classifier, str(path), input_example=X.head(2))
    assert sorted(os.listdir(path)) == [
        "MLmodel",
        "conda.yaml",
        "input_example.json",
        "model.skops",
        "python_env.yaml",
        "requirements.txt",
        "serving_input_example.json",
    ]
    mlmodel = yaml.safe_load((path / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert mlmodel["flavors"]["python_function"]["model_path"] == "model.skops"
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "skops"
    assert mlmodel["flavors"]["sklearn"]["pickled_model"] == "model.skops"
    assert mlmodel["model_id"] is None and mlmodel["prompts"] is None
    assert "run_id" not in mlmodel and "artifact_path" not in mlmodel
    assert mlmodel["model_size_bytes"] > 0
    assert json.loads(mlmodel["signature"]["inputs"]) == [
        {"type": "double", "name": "a", "required": True},
        {"type": "long", "name": "b", "required": True},
    ]
    assert json.loads(mlmodel["signature"]["outputs"]) == [{"type": "long", "required": True}]
    assert mlmodel["saved_input_example_info"] == {
        "artifact_path": "input_example.json",
        "serving_input_path": "serving_input_example.json",
        "type": "dataframe",
        "pandas_orient": "split",
    }
    assert json.loads((path / "input_example.json").read_text()) == {
        "columns": ["a", "b"],
        "data": [[0.1, 0], [0.4, 0]],
    }
    assert json.loads((path / "serving_input_example.json").read_text()) == {
        "dataframe_split": {"columns": ["a", "b"], "data": [[0.1, 0], [0.4, 0]]}
    }


def test_requirements_are_the_installed_versions(tmp_path, classifier):
    import sklearn
    import skops

    labkeep.sklearn.save_model(classifier, str(tmp_path / "m"))
    reqs = (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    assert f"scikit-learn=={sklearn.__version__}" in reqs
    assert f"numpy=={np.__version__}" in reqs
    assert any(r.startswith("skops==") for r in reqs) and skops  # skops format needs skops
    assert not any(r.startswith("cloudpickle") for r in reqs)
    env = yaml.safe_load((tmp_path / "m" / "python_env.yaml").read_text())
    assert env["dependencies"] == ["-r requirements.txt"]
    assert env["python"].count(".") == 2
    conda = yaml.safe_load((tmp_path / "m" / "conda.yaml").read_text())
    assert conda["dependencies"][-1] == {"pip": reqs}


def test_pip_requirements_override_and_extra(tmp_path, classifier):
    labkeep.sklearn.save_model(classifier, str(tmp_path / "a"), pip_requirements=["scikit-learn", "numpy<3"])
    assert (tmp_path / "a" / "requirements.txt").read_text().splitlines() == ["scikit-learn", "numpy<3"]
    labkeep.sklearn.save_model(
        classifier, str(tmp_path / "b"), extra_pip_requirements=["requests==2.0", "numpy<3"]
    )
    reqs = (tmp_path / "b" / "requirements.txt").read_text().splitlines()
    assert reqs[-2:] == ["requests==2.0", "numpy<3"]
    assert not any(r.startswith("numpy==") for r in reqs)  # the extra pin replaces the default one
    with pytest.raises(InvalidParameterValue):
        labkeep.sklearn.save_model(
            classifier, str(tmp_path / "c"), pip_requirements=["x"], extra_pip_requirements=["y"]
        )


@pytest.mark.parametrize(
    "fmt,file", [("skops", "model.skops"), ("pickle", "model.pkl"), ("cloudpickle", "model.pkl")]
)
def test_round_trip_each_serialization_format(tmp_path, classifier, iris_like, fmt, file):
    X, _ = iris_like
    path = str(tmp_path / fmt)
    labkeep.sklearn.save_model(classifier, path, serialization_format=fmt)
    assert os.path.exists(os.path.join(path, file))
    assert list(labkeep.sklearn.load_model(path).predict(X)) == list(classifier.predict(X))
    assert list(labkeep.pyfunc.load_model(path).predict(X)) == list(classifier.predict(X))


def test_predict_fn_and_signature_enforced(tmp_path, classifier, iris_like):
    X, _ = iris_like
    path = str(tmp_path / "m")
    labkeep.sklearn.save_model(classifier, path, input_example=X, pyfunc_predict_fn="predict_proba")
    model = labkeep.pyfunc.load_model(path)
    assert model.predict(X).shape == (6, 2)
    with pytest.raises(InvalidParameterValue, match="'b'"):
        model.predict(X[["a"]])


def test_refuses_existing_directory_and_bad_format(tmp_path, classifier):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "x").write_text("")
    with pytest.raises(LabkeepException, match="already exists"):
        labkeep.sklearn.save_model(classifier, str(tmp_path / "m"))
    with pytest.raises(InvalidParameterValue, match="serialization_format"):
        labkeep.sklearn.save_model(classifier, str(tmp_path / "n"), serialization_format="joblib")


def test_refuses_paths_escaping_the_model_directory(tmp_path, classifier):
    path = tmp_path / "m"
    labkeep.sklearn.save_model(classifier, str(path), serialization_format="pickle")
    (tmp_path / "evil.pkl").write_bytes((path / "model.pkl").read_bytes())
    meta = Model.load(str(path))
    meta.flavors["sklearn"]["pickled_model"] = "../evil.pkl"
    meta.save(str(path))
    with pytest.raises(InvalidParameterValue, match="escapes the model directory"):
        labkeep.sklearn.load_model(str(path))
    with pytest.raises(InvalidParameterValue, match="escapes"):
        labkeep.pyfunc.load_model(str(path))
    with pytest.raises(InvalidParameterValue, match="'..'"):
        labkeep.pyfunc.load_model("runs:/abc/../../etc")


def test_unknown_mlmodel_keys_are_preserved(tmp_path, classifier):
    path = tmp_path / "m"
    labkeep.sklearn.save_model(classifier, str(path))
    data = yaml.safe_load((path / "MLmodel").read_text())
    data["databricks_runtime"] = "15.4"
    data["resources"] = {"api_version": "1"}
    (path / "MLmodel").write_text(yaml.safe_dump(data))
    meta = Model.load(str(path))
    meta.save(str(path))
    again = yaml.safe_load((path / "MLmodel").read_text())
    assert again["databricks_runtime"] == "15.4" and again["resources"] == {"api_version": "1"}


def test_code_paths_are_copied_and_importable(tmp_path, iris_like):
    X, _ = iris_like
    pkg = tmp_path / "src" / "myfeat"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("def double(x):\n    return x * 2\n")
    path = tmp_path / "m"
    from sklearn.linear_model import LinearRegression

    labkeep.sklearn.save_model(
        LinearRegression().fit(X, [1, 2, 3, 4, 5, 6]), str(path), code_paths=[str(pkg)]
    )
    assert (path / "code" / "myfeat" / "__init__.py").exists()
    assert yaml.safe_load((path / "MLmodel").read_text())["flavors"]["sklearn"]["code"] == "code"


def test_input_example_and_dependencies_are_readable_back(tmp_path, classifier, iris_like):
    X, _ = iris_like
    path = str(tmp_path / "m")
    labkeep.sklearn.save_model(classifier, path, input_example=X.head(2))
    example = Model.load(path).load_input_example()
    assert example.equals(X.head(2).reset_index(drop=True))
    assert labkeep.pyfunc.get_model_dependencies(path).endswith("requirements.txt")
    from labkeep.models.signature import ModelSignature, infer_signature

    assert isinstance(infer_signature(X), ModelSignature)
