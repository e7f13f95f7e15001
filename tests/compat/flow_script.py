"""The tutorial flow (train, log, register, alias, stage, load), written as an ordinary mlflow user script.

Run as ``python flow_script.py <module> <out.json>`` where ``<module>`` is ``mlflow`` (the official
client) or ``labkeep`` (``import labkeep as mlflow``); MLFLOW_TRACKING_URI points at the server.
Results are written as JSON for the test to assert on.
"""

import importlib
import json
import os
import sys
import tempfile

import numpy as np
from sklearn.linear_model import LinearRegression

mlflow = importlib.import_module(sys.argv[1])
out_path = sys.argv[2]
with_registry = os.environ.get("FLOW_WITH_MODELS", "1") == "1"
result = {}

X = np.arange(40, dtype=float).reshape(20, 2)
y = X @ np.array([1.5, -2.0]) + 3.0

exp = mlflow.set_experiment("compat-exp")
exp_id = exp.experiment_id
result["experiment"] = {"id": exp_id, "artifact_location": exp.artifact_location}

with mlflow.start_run(run_name="parent") as run:
    run_id = run.info.run_id
    mlflow.log_param("alpha", "0.5")
    for step in range(3):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_params({"a": 1, "b": "two"})
    mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=3)
    mlflow.set_tag("team", "ml")
    tmp = tempfile.mkdtemp()
    notes = os.path.join(tmp, "notes.txt")
    with open(notes, "w") as f:
        f.write("hello from the compat flow")
    mlflow.log_artifact(notes)
    mlflow.log_artifact(notes, artifact_path="docs/sub")
    if with_registry:
        model1 = LinearRegression().fit(X, y)
        info1 = mlflow.sklearn.log_model(
            model1, name="model", registered_model_name="CompatModel", input_example=X[:2]
        )
        model2 = LinearRegression().fit(X, 2 * y)
        info2 = mlflow.sklearn.log_model(model2, name="model2", registered_model_name="CompatModel")
        result["model_ids"] = [info1.model_id, info2.model_id]
        result["registered_versions"] = [
            str(info1.registered_model_version),
            str(info2.registered_model_version),
        ]
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_metric("child_metric", 7.0)
        child_id = child.info.run_id

client = mlflow.MlflowClient()
parent = client.get_run(run_id)
child_run = client.get_run(child_id)
result["run"] = {
    "id": run_id,
    "status": parent.info.status,
    "artifact_uri": parent.info.artifact_uri,
    "params": dict(parent.data.params),
    "metrics": dict(parent.data.metrics),
    "tags": {k: v for k, v in parent.data.tags.items()},
}
result["child"] = {
    "status": child_run.info.status,
    "parent_tag": child_run.data.tags.get("mlflow.parentRunId"),
}
result["loss_history"] = [(m.step, m.value) for m in client.get_metric_history(run_id, "loss")]
result["artifacts_root"] = sorted(f.path for f in client.list_artifacts(run_id))
result["artifacts_sub"] = sorted(f.path for f in client.list_artifacts(run_id, "docs/sub"))
local = client.download_artifacts(run_id, "notes.txt", tempfile.mkdtemp())
result["downloaded_notes"] = open(local).read()
found = mlflow.search_runs(
    experiment_ids=[exp_id],
    filter_string="metrics.loss < 2",
    order_by=["metrics.loss ASC"],
    output_format="list",
)
result["search"] = [r.info.run_id for r in found]
result["search_child"] = [
    r.info.run_id
    for r in mlflow.search_runs(
        experiment_ids=[exp_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{run_id}'",
        output_format="list",
    )
]

if with_registry:
    client.set_registered_model_alias("CompatModel", "champion", "1")
    client.transition_model_version_stage("CompatModel", "2", "Staging")
    rm = client.get_registered_model("CompatModel")
    result["aliases"] = dict(rm.aliases)
    mv2 = client.get_model_version("CompatModel", "2")
    result["v2"] = {"stage": mv2.current_stage, "status": mv2.status, "run_id": mv2.run_id}
    result["by_alias_version"] = client.get_model_version_by_alias("CompatModel", "champion").version
    by_alias = mlflow.pyfunc.load_model("models:/CompatModel@champion")
    by_version = mlflow.pyfunc.load_model("models:/CompatModel/2")
    by_run = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    result["predictions"] = {
        "alias": by_alias.predict(X[:5]).tolist(),
        "version2": by_version.predict(X[:5]).tolist(),
        "runs_uri": by_run.predict(X[:5]).tolist(),
        "original1": model1.predict(X[:5]).tolist(),
        "original2": model2.predict(X[:5]).tolist(),
    }

with open(out_path, "w") as f:
    json.dump(result, f)
