"""An ordinary mlflow training script using ``mlflow.autolog()``; run unchanged under either library.

Usage: python parity_script.py {mlflow|labkeep} TRACKING_URI
Prints one JSON line describing what was logged (params, metric keys, artifacts, model files).
"""

from __future__ import annotations

import json
import os
import sys

if sys.argv[1] == "mlflow":
    import mlflow
else:
    import labkeep as mlflow

mlflow.set_tracking_uri(sys.argv[2])
mlflow.set_experiment("parity")
mlflow.autolog()

import numpy as np  # noqa: E402
import xgboost as xgb  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 4))
y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
X_train, X_test, y_train, y_test = X[:150], X[150:], y[:150], y[150:]

model = RandomForestClassifier(n_estimators=10, max_depth=3, random_state=0).fit(X_train, y_train)
y_pred = model.predict(X_test)
accuracy_score(y_test, y_pred)

dtrain, dtest = xgb.DMatrix(X_train, label=y_train), xgb.DMatrix(X_test, label=y_test)
xgb.train({"objective": "binary:logistic", "max_depth": 2}, dtrain, num_boost_round=5,
          evals=[(dtest, "test")], verbose_eval=False)  # fmt: skip


def files(root: str) -> list[str]:
    out = []
    for base, _dirs, names in os.walk(root):
        out += [os.path.relpath(os.path.join(base, n), root) for n in names]
    return sorted(out)


def local(uri: str) -> str:
    return uri[len("file://") :] if uri.startswith("file://") else uri


client = mlflow.MlflowClient()
exp = client.get_experiment_by_name("parity")
report = {}
for run in client.search_runs([exp.experiment_id]):
    flavor = run.data.tags.get("mlflow.autologging")
    report[flavor] = {
        "params": sorted(run.data.params),
        "metrics": sorted(run.data.metrics),
        "tags": sorted(k for k in run.data.tags if not k.startswith("mlflow.")),
        "artifacts": files(local(run.info.artifact_uri)),
        "models": {},
    }
for lm in client.search_logged_models([exp.experiment_id]):
    flavor = client.get_run(lm.source_run_id).data.tags.get("mlflow.autologging")
    report[flavor]["models"][lm.name] = files(local(lm.artifact_location))
print(json.dumps(report))
