"""Autolog against a real ``labkeep server``, with the official mlflow client reading the results."""

from __future__ import annotations

import json

import pytest

from tests.models.test_server_compat import _python, server  # noqa: F401  (fixture)

pytestmark = pytest.mark.compat

DATA = """
import numpy as np
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 4)).astype("float32"); y = (X[:, 0] + X[:, 1] > 0).astype(int)
"""


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_autolog_over_rest_read_by_mlflow(server, tmp_path):  # noqa: F811
    _python(
        DATA
        + """
import labkeep as mlflow
mlflow.set_experiment("auto")
mlflow.autolog()
mlflow.sklearn.autolog(registered_model_name="AutoLR")
import lightgbm as lgb, xgboost as xgb
from sklearn.linear_model import LogisticRegression
LogisticRegression().fit(X, y)
xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=y), num_boost_round=3,
          evals=[(xgb.DMatrix(X, label=y), "train")], verbose_eval=False)
lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, label=y), num_boost_round=3)
import lightning.pytorch as pl, torch
from tests.autolog.torch_models import lit_module_class, loaders, trainer
torch.manual_seed(0)
train, val = loaders()
trainer(pl, max_epochs=2).fit(lit_module_class(pl)(), train, val)
print("ok")
""",
        server,
        tmp_path,
    )
    out = _python(
        DATA
        + """
import json, os, mlflow, mlflow.pyfunc, mlflow.pytorch, torch
os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
client = mlflow.MlflowClient()
exp = client.get_experiment_by_name("auto")
runs = {r.data.tags["mlflow.autologging"]: r for r in client.search_runs([exp.experiment_id])}
report = {k: {"params": sorted(r.data.params), "metrics": sorted(r.data.metrics), "status": r.info.status,
              "artifacts": sorted(a.path for a in client.list_artifacts(r.info.run_id))} for k, r in runs.items()}
models = {m.source_run_id: m for m in client.search_logged_models([exp.experiment_id])}
report["pred"] = [int(v) for v in mlflow.pyfunc.load_model("models:/AutoLR/1").predict(X[:5])]
xgb_model = models[runs["xgboost"].info.run_id]
report["xpred"] = len(mlflow.pyfunc.load_model(f"models:/{xgb_model.model_id}").predict(X[:5]))
lit = runs["pytorch"]
report["steps"] = sorted({m.step for m in client.get_metric_history(lit.info.run_id, "val_loss")})
report["ckpt"] = sorted(a.path for a in client.list_artifacts(lit.info.run_id, "checkpoints"))
net = mlflow.pytorch.load_model(f"models:/{models[lit.info.run_id].model_id}")
report["out"] = list(net(torch.zeros(3, 4)).shape)
print(json.dumps(report))
""",
        server,
        tmp_path,
    )
    report = json.loads(out)
    assert {"sklearn", "xgboost", "lightgbm", "pytorch"} <= set(report)
    assert all(report[k]["status"] == "FINISHED" for k in ("sklearn", "xgboost", "lightgbm", "pytorch"))
    assert "training_accuracy_score" in report["sklearn"]["metrics"] and "C" in report["sklearn"]["params"]
    assert "estimator.html" in report["sklearn"]["artifacts"]
    assert "train-logloss" in report["xgboost"]["metrics"]
    assert "feature_importance_gain.json" in report["lightgbm"]["artifacts"]
    assert len(report["pred"]) == 5 and report["xpred"] == 5
    assert {"epochs", "optimizer_name", "lr"} <= set(report["pytorch"]["params"])
    assert report["steps"] == [0, 1]
    assert "checkpoints/latest_checkpoint.pth" in report["ckpt"]
    assert report["out"] == [3, 1]
