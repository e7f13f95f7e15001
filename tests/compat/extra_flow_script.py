"""The other common mlflow client calls (observed/extra-flow.json), as an ordinary user script.

``python extra_flow_script.py <out.json>`` with MLFLOW_TRACKING_URI pointing at the server.
"""

import json
import os
import sys
import tempfile

import mlflow
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

out_path = sys.argv[1]
result = {}
client = mlflow.MlflowClient()
X = np.arange(20, dtype=float).reshape(10, 2)
y = X.sum(axis=1)

# x01 experiment tag
exp = mlflow.set_experiment("extra-exp")
mlflow.set_experiment_tag("team", "vision")
result["exp_tags"] = dict(client.get_experiment(exp.experiment_id).tags)

# x02 dataset input, log_text / log_dict / log_artifacts(dir)
with mlflow.start_run(run_name="inputs") as run:
    ds = mlflow.data.from_pandas(pd.DataFrame({"a": [1, 2], "b": [3, 4]}), name="tiny")
    mlflow.log_input(ds, context="training")
    mlflow.log_text("alpha", "texts/a.txt")
    mlflow.log_dict({"k": 1}, "cfg/conf.json")
    d = tempfile.mkdtemp()
    os.makedirs(os.path.join(d, "sub"))
    open(os.path.join(d, "c.txt"), "w").write("c")
    open(os.path.join(d, "sub", "b.txt"), "w").write("b")
    mlflow.log_artifacts(d, "dir")
    # x03 log_model without registry or example
    model = LinearRegression().fit(X, y)
    info = mlflow.sklearn.log_model(model, name="model")
    run_id = run.info.run_id
got = client.get_run(run_id)
result["dataset"] = [(i.dataset.name, i.tags[0].value) for i in got.inputs.dataset_inputs]
result["outputs"] = [o.model_id for o in got.outputs.model_outputs]
result["model_id"] = info.model_id

# x04 load through runs:/
loaded = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
result["runs_uri_prediction_ok"] = bool(np.allclose(loaded.predict(X), model.predict(X)))

# x05 register from runs:/ (twice -> versions 1 and 2)
v1 = mlflow.register_model(f"runs:/{run_id}/model", "ExtraModel")
v2 = mlflow.register_model(f"runs:/{run_id}/model", "ExtraModel")
result["versions"] = [v1.version, v2.version]
result["v1_status"] = v1.status

# x06 registry reads
result["search_models"] = [
    m.name for m in mlflow.search_registered_models(filter_string="name = 'ExtraModel'")
]
result["search_versions"] = sorted(
    v.version for v in mlflow.search_model_versions(filter_string="name = 'ExtraModel'")
)
result["get_version_source"] = client.get_model_version("ExtraModel", "1").source

# x07 registry writes
client.set_registered_model_tag("ExtraModel", "owner", "me")
client.set_model_version_tag("ExtraModel", "1", "validated", "yes")
client.update_model_version("ExtraModel", "1", description="first")
client.update_registered_model("ExtraModel", description="demo model")
client.set_registered_model_alias("ExtraModel", "tmp", "2")
client.delete_registered_model_alias("ExtraModel", "tmp")
client.transition_model_version_stage("ExtraModel", "1", "Production")
rm = client.get_registered_model("ExtraModel")
mv1 = client.get_model_version("ExtraModel", "1")
result["rm"] = {"tags": dict(rm.tags), "description": rm.description, "aliases": dict(rm.aliases)}
result["mv1"] = {"tags": dict(mv1.tags), "description": mv1.description, "stage": mv1.current_stage}

# x08 models:/Name/Stage and models:/Name/latest
prod = mlflow.pyfunc.load_model("models:/ExtraModel/Production")
latest = mlflow.pyfunc.load_model("models:/ExtraModel/latest")
result["stage_loads_ok"] = bool(np.allclose(prod.predict(X), latest.predict(X)))
result["latest_versions"] = sorted(v.version for v in client.get_latest_versions("ExtraModel"))

# x09 artifact listing and directory download
result["list_root"] = sorted(f.path for f in client.list_artifacts(run_id))
result["list_dir"] = sorted(f.path for f in client.list_artifacts(run_id, "dir"))
local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="dir", dst_path=tempfile.mkdtemp())
result["downloaded"] = sorted(
    os.path.relpath(os.path.join(p, f), local) for p, _, files in os.walk(local) for f in files
)
result["text"] = mlflow.artifacts.load_text(f"runs:/{run_id}/texts/a.txt")
result["dict"] = mlflow.artifacts.load_dict(f"runs:/{run_id}/cfg/conf.json")

# x10 searches
result["search_experiments"] = [e.name for e in mlflow.search_experiments(filter_string="name = 'extra-exp'")]
result["search_all_runs"] = len(mlflow.search_runs(search_all_experiments=True, output_format="list"))
result["search_logged_models"] = [
    m.name for m in mlflow.search_logged_models(experiment_ids=[exp.experiment_id], output_format="list")
]

# x11 resume, delete, restore
with mlflow.start_run(run_id=run_id):
    mlflow.log_metric("resumed", 1.0)
client.delete_run(run_id)
result["deleted_stage"] = client.get_run(run_id).info.lifecycle_stage
client.restore_run(run_id)
result["restored_stage"] = client.get_run(run_id).info.lifecycle_stage
result["resumed_metric"] = client.get_run(run_id).data.metrics.get("resumed")

# x12 sklearn autolog
mlflow.sklearn.autolog(log_input_examples=False, log_model_signatures=False)
with mlflow.start_run(run_name="autolog") as arun:
    LinearRegression().fit(X, y)
mlflow.sklearn.autolog(disable=True)
auto = client.get_run(arun.info.run_id)
result["autolog"] = {
    "params": sorted(auto.data.params)[:3],
    "has_metrics": any(k.startswith("training_") for k in auto.data.metrics),
    "tags": auto.data.tags.get("estimator_name"),
}

with open(out_path, "w") as f:
    json.dump(result, f)
