"""log_model's MLflow 3 flow against a real SQLite store: logged model, run output, registry."""

from __future__ import annotations

import os

import pytest
import yaml

import labkeep
import labkeep.pyfunc
import labkeep.sklearn
from labkeep.exceptions import InvalidParameterValue


def test_log_model_with_run_links_and_registers(classifier, iris_like):
    X, _ = iris_like
    labkeep.set_experiment("models-demo")
    infos = []
    for _ in range(2):
        with labkeep.start_run() as run:
            labkeep.log_param("C", 1.0)
            labkeep.log_metric("mse", 0.25)
            info = labkeep.sklearn.log_model(
                classifier,
                name="model",
                input_example=X.head(2),
                registered_model_name="LinearRegressionDemo",
            )
            infos.append((run.info.run_id, info))
    run_id, info = infos[-1]
    assert info.model_uri == f"models:/{info.model_id}" and info.model_id.startswith("m-")
    assert info.run_id == run_id and info.registered_model_version == 2
    assert info.signature is not None and info.name == "model"
    assert [i.registered_model_version for _, i in infos] == [1, 2]

    client = labkeep.MlflowClient()
    lm = client.get_logged_model(info.model_id)
    assert lm.status == "LOGGED_MODEL_READY"
    assert lm.source_run_id == run_id and lm.name == "model"
    assert lm.params == {"C": "1.0"}
    assert "mlflow.user" in lm.tags
    run = client.get_run(run_id)
    assert [o.model_id for o in run.outputs.model_outputs] == [info.model_id]
    # the run's metrics are linked to the model, and the run's history keeps its one point
    assert [(m.key, m.value, m.run_id) for m in lm.metrics] == [("mse", 0.25, run_id)]
    assert len(client.get_metric_history(run_id, "mse")) == 1

    # MLmodel of a logged model carries its ids and artifact location
    local = labkeep.pyfunc.load_model(info.model_uri).model_dir
    meta = yaml.safe_load(open(os.path.join(local, "MLmodel")))
    assert meta["model_id"] == meta["model_uuid"] == info.model_id
    assert meta["run_id"] == run_id and meta["artifact_path"] == lm.artifact_location

    expected = list(classifier.predict(X))
    for uri in (
        info.model_uri,
        f"runs:/{run_id}/model",
        "models:/LinearRegressionDemo/2",
        "models:/LinearRegressionDemo/latest",
    ):
        assert list(labkeep.pyfunc.load_model(uri).predict(X)) == expected, uri
    assert list(labkeep.sklearn.load_model("models:/LinearRegressionDemo/1").predict(X)) == expected
    client.set_registered_model_alias("LinearRegressionDemo", "champion", "1")
    assert list(labkeep.pyfunc.load_model("models:/LinearRegressionDemo@champion").predict(X)) == expected


def test_log_model_without_run_creates_no_run(classifier):
    info = labkeep.sklearn.log_model(classifier, artifact_path="clf")  # older spelling of name=
    assert info.run_id is None and info.name == "clf"
    client = labkeep.MlflowClient()
    assert client.search_runs(["0"]) == []
    assert client.get_logged_model(info.model_id).status == "LOGGED_MODEL_READY"


def test_log_model_rejects_conflicting_names(classifier):
    with pytest.raises(InvalidParameterValue):
        labkeep.sklearn.log_model(classifier, name="a", artifact_path="b")


def test_pyfunc_log_model(tmp_path):
    from tests.models.test_pyfunc import NoContext

    with labkeep.start_run():
        info = labkeep.pyfunc.log_model(name="custom", python_model=NoContext())
    assert labkeep.pyfunc.load_model(info.model_uri).predict([[1, 2]]).tolist() == [3]
    assert (
        labkeep.models.get_model_info(info.model_uri).flavors["python_function"]["loader_module"]
        == "mlflow.pyfunc.model"
    )


def test_pyfunc_artifacts_from_a_runs_uri(tmp_path):
    from tests.models.test_pyfunc import Scaler

    (tmp_path / "factor.txt").write_text("4")
    with labkeep.start_run() as run:
        labkeep.log_artifact(str(tmp_path / "factor.txt"), "inputs")
        info = labkeep.pyfunc.log_model(
            name="scaled",
            python_model=Scaler(),
            artifacts={"factor": f"runs:/{run.info.run_id}/inputs/factor.txt"},
        )
    import pandas as pd

    assert labkeep.pyfunc.load_model(info.model_uri).predict(pd.DataFrame({"x": [1.0]})).tolist() == [4.0]


def test_runs_uri_to_a_model_stored_inside_the_run(tmp_path, classifier, iris_like):
    """MLflow 2 layout: the model directory is a run artifact, not a logged model."""
    X, _ = iris_like
    labkeep.sklearn.save_model(classifier, str(tmp_path / "legacy"))
    with labkeep.start_run() as run:
        labkeep.log_artifacts(str(tmp_path / "legacy"), "legacy_model")
    model = labkeep.pyfunc.load_model(f"runs:/{run.info.run_id}/legacy_model")
    assert list(model.predict(X)) == list(classifier.predict(X))


def test_lightgbm_log_model_and_pyfunc(iris_like):
    lgb = pytest.importorskip("lightgbm")
    import labkeep.lightgbm

    X, y = iris_like
    booster = lgb.train(
        {"verbose": -1, "objective": "regression", "min_data_in_leaf": 1}, lgb.Dataset(X, y), 3
    )
    with labkeep.start_run():
        info = labkeep.lightgbm.log_model(booster, name="lgb", input_example=X.head(2))
    assert info.flavors["lightgbm"]["data"] == "model.lgb"
    assert info.flavors["python_function"]["loader_module"] == "mlflow.lightgbm"
    expected = booster.predict(X).tolist()
    assert labkeep.pyfunc.load_model(info.model_uri).predict(X).tolist() == expected
    assert labkeep.lightgbm.load_model(info.model_uri).predict(X).tolist() == expected
