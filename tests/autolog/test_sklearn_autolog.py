"""scikit-learn autolog on real estimators and a 200-row set made in the test."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import labkeep
from tests.autolog.conftest import artifact_paths

sklearn = pytest.importorskip("sklearn")
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

CLASSIFIER_METRICS = {
    "training_accuracy_score", "training_f1_score", "training_log_loss", "training_precision_score",
    "training_recall_score", "training_roc_auc", "training_score",
}  # fmt: skip


def _last_run():
    return labkeep.get_run(labkeep.last_active_run().info.run_id)


def test_fit_logs_params_metrics_model_dataset(db_uri, tabular):
    labkeep.set_tracking_uri(db_uri)
    labkeep.sklearn.autolog(log_input_examples=True)
    X, y = tabular
    model = LogisticRegression(C=0.5).fit(X, y)
    run = _last_run()
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.autologging"] == "sklearn"
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert run.data.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert {k: run.data.params[k] for k in ("C", "max_iter")} == {"C": "0.5", "max_iter": "100"}
    assert set(model.get_params(deep=True)) <= set(run.data.params)
    assert CLASSIFIER_METRICS <= set(run.data.metrics)
    assert run.data.metrics["training_accuracy_score"] == pytest.approx(model.score(X, y))
    client = labkeep.MlflowClient()
    files = artifact_paths(client, run.info.run_id)
    assert "estimator.html" in files and "training_confusion_matrix.png" in files
    assert "training_roc_curve.png" in files
    # the training set is an input of the run
    (ds,) = run.inputs.dataset_inputs
    assert ds.dataset.name == "dataset" and ds.dataset.source_type == "code"
    assert [(t.key, t.value) for t in ds.tags] == [("mlflow.data.context", "train")]
    # the model: logged, with signature and example, and it predicts like the estimator
    (out,) = run.outputs.model_outputs
    loaded = labkeep.pyfunc.load_model(f"models:/{out.model_id}")
    assert loaded.metadata.signature is not None
    assert list(loaded.predict(X[:7])) == list(model.predict(X[:7]))
    assert labkeep.sklearn.load_model(f"models:/{out.model_id}").get_params()["C"] == 0.5


def test_regressor_metrics_and_active_run_reuse(tabular):
    labkeep.sklearn.autolog(log_models=False, log_datasets=False)
    X, _ = tabular
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1
    with labkeep.start_run() as run:
        LinearRegression().fit(X, y)
        assert labkeep.active_run().info.run_id == run.info.run_id
    metrics = labkeep.get_run(run.info.run_id).data.metrics
    assert {"training_mean_squared_error", "training_root_mean_squared_error", "training_mean_absolute_error",
            "training_r2_score", "training_score"} <= set(metrics)  # fmt: skip
    assert metrics["training_r2_score"] == pytest.approx(1.0)
    assert labkeep.get_run(run.info.run_id).outputs.model_outputs == []


def test_pipeline_logs_once(tabular):
    labkeep.sklearn.autolog(log_models=False)
    X, y = tabular
    Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())]).fit(X, y)
    runs = labkeep.search_runs(output_format="list")
    assert len(runs) == 1
    assert runs[0].data.tags["estimator_name"] == "Pipeline"
    assert "lr__C" in runs[0].data.params and "scale__with_mean" in runs[0].data.params


def test_grid_search_parent_best_and_bounded_children(tabular):
    labkeep.sklearn.autolog(max_tuning_runs=2)
    X, y = tabular
    search = GridSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0]}, cv=3).fit(X, y)
    parent = _last_run()
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert "param_grid" in parent.data.params and "estimator" in parent.data.params
    client = labkeep.MlflowClient()
    assert "cv_results.csv" in artifact_paths(client, parent.info.run_id)
    names = sorted(m.name for m in client.search_logged_models([parent.info.experiment_id]))
    assert names == ["best_estimator", "model"]
    children = labkeep.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'", output_format="list"
    )
    assert len(children) == 2  # max_tuning_runs bounds the three candidates
    for child in children:
        assert child.info.status == "FINISHED"
        assert {"mean_test_score", "rank_test_score", "std_test_score"} <= set(child.data.metrics)
        assert child.data.params["C"] in {"0.01", "0.1", "1.0"}
    assert len(labkeep.search_runs(output_format="list")) == 3  # no run per candidate fit


def test_post_training_metrics_use_the_dataset_name(tabular):
    labkeep.sklearn.autolog(log_models=False, log_datasets=False)
    from sklearn.metrics import accuracy_score, f1_score  # after autolog(), as in mlflow

    X, y = tabular
    X_train, y_train, X_test, y_test = X[:150], y[:150], X[150:], y[150:]
    model = LogisticRegression().fit(X_train, y_train)
    run_id = labkeep.last_active_run().info.run_id
    y_pred = model.predict(X_test)
    acc = accuracy_score(y_test, y_pred)
    accuracy_score(y_test, y_pred)  # a second call gets an index
    f1_score(y_test, y_pred)
    score = model.score(X_test, y_test)
    metrics = labkeep.get_run(run_id).data.metrics
    assert metrics["accuracy_score_X_test"] == pytest.approx(acc)
    assert "accuracy_score-2_X_test" in metrics and "f1_score_X_test" in metrics
    assert metrics["LogisticRegression_score_X_test"] == pytest.approx(score)


def test_disable_stops_logging_and_restores_sklearn(tabular):
    import sklearn.metrics

    original_fit = LogisticRegression.fit
    labkeep.sklearn.autolog()
    assert LogisticRegression.fit is not original_fit
    labkeep.sklearn.autolog(disable=True)
    assert LogisticRegression.fit is original_fit
    assert not hasattr(sklearn.metrics.accuracy_score, "_labkeep_original")
    X, y = tabular
    LogisticRegression().fit(X, y)
    assert labkeep.search_runs(output_format="list") == []


def test_training_goes_on_when_the_store_fails(tabular, tmp_path):
    labkeep.set_tracking_uri("http://127.0.0.1:9")  # nothing listens: every logging call fails
    labkeep.sklearn.autolog()
    X, y = tabular
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LogisticRegression().fit(X, y)
    assert model.coef_.shape == (1, 4)
    assert any("labkeep autologging for sklearn failed" in str(w.message) for w in caught)


def test_dataframe_input_signature_names_columns(tabular):
    labkeep.sklearn.autolog()
    X, y = tabular
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    LogisticRegression().fit(frame, y)
    (out,) = _last_run().outputs.model_outputs
    model = labkeep.pyfunc.load_model(f"models:/{out.model_id}")
    assert model.metadata.get_input_schema().input_names() == ["a", "b", "c", "d"]


def test_post_training_metric_failure_is_logged_as_a_warning(caplog):
    from labkeep.sklearn import post_training

    with caplog.at_level("WARNING", logger="labkeep.sklearn"):
        post_training._log_warning("accuracy_score", ValueError("boom"))
    assert "could not log post-training metric accuracy_score: boom" in caplog.text
