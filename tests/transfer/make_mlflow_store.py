"""Builds a real MLflow history with the installed mlflow (3.17.2): python make_mlflow_store.py URI [ROWS].

Run in a subprocess by the transfer tests; never imported by labkeep.
"""

import sys

import mlflow
import pandas as pd
from mlflow import MlflowClient

uri = sys.argv[1]
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
client = MlflowClient()

exp_a = mlflow.set_experiment("exp-a")
mlflow.set_experiment_tag("team", "vision")
with mlflow.start_run(run_name="train") as run:
    mlflow.log_params({"lr": 0.1, "layers": 3})
    mlflow.set_tag("stage", "dev")
    for step in range(20):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metric("acc/top1", step / 20, step=step)
    mlflow.log_metric("weird", float("nan"))
    mlflow.log_metric("weird", float("inf"), step=1)
    mlflow.log_text("hello", "notes/a.txt")
    mlflow.log_dict({"k": [1, 2]}, "cfg.json")
    df = pd.DataFrame({"a": [1, 2, 3], "b": [0.1, 0.2, 0.3]})
    mlflow.log_input(mlflow.data.from_pandas(df, name="train-ds"), context="training")
    model = mlflow.pyfunc.log_model(
        name="model",
        python_model=mlflow.pyfunc.PythonModel(),
        registered_model_name="reg-a",
        pip_requirements=[],
    )
with mlflow.start_span("outer") as span:
    span.set_inputs({"q": "hi"})
    with mlflow.start_span("inner"):
        pass
    span.set_outputs("ok")
mlflow.flush_trace_async_logging()
with mlflow.start_run(run_name="failed-one") as failed:
    mlflow.log_metric("loss", 5.0)
client.set_terminated(failed.info.run_id, "FAILED")
with mlflow.start_run(run_name="gone") as gone:
    mlflow.log_param("p", "x")
client.delete_run(gone.info.run_id)

client.create_model_version("reg-a", f"{run.info.artifact_uri}/notes", run_id=run.info.run_id)
client.set_registered_model_tag("reg-a", "owner", "ana")
client.update_registered_model("reg-a", description="the model")
client.set_registered_model_alias("reg-a", "champion", "1")
client.set_model_version_tag("reg-a", "2", "validated", "yes")
client.transition_model_version_stage("reg-a", "1", "Production")

exp_b = mlflow.set_experiment("exp-b")
for i in range(3):
    with mlflow.start_run(run_name=f"sweep-{i}"):
        mlflow.log_param("i", i)
        mlflow.log_metrics({"m1": i * 1.5, "m2": -i}, step=0)
old = client.create_experiment("old-stuff")
client.delete_experiment(old)
print(run.info.run_id)
