"""Run by tests/compat/test_auth_mlflow_client.py with the official mlflow client (3.17.2).

``python auth_flow_script.py <out.json>``; MLFLOW_TRACKING_URI points at a labkeep server started
with ``--app-name basic-auth``; MLFLOW_TRACKING_USERNAME/PASSWORD are the admin's.
"""

from __future__ import annotations

import json
import os
import sys

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.server import get_app_client

out: dict = {}
uri = os.environ["MLFLOW_TRACKING_URI"]
admin_user, admin_pw = os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"]
auth = get_app_client("basic-auth", tracking_uri=uri)


def as_user(user: str | None, password: str | None = None, token: str | None = None) -> None:
    for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        os.environ.pop(var, None)
    if user:
        os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = user, password or ""
    if token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = token


def code(fn) -> str:
    try:
        fn()
        return "ok"
    except MlflowException as exc:
        return exc.error_code


# ---- users and grants through the auth client, as admin
alice = auth.create_user("alice", "alice-pw")
auth.create_user("mallory", "mallory-pw")
out["alice"] = {"id": alice.id, "username": alice.username, "is_admin": alice.is_admin}
out["get_user"] = auth.get_user("alice").username
auth.update_user_admin("mallory", False)

# ---- alice logs a run with Basic credentials
as_user("alice", "alice-pw")
mlflow.set_experiment("alice-exp")
with mlflow.start_run() as run:
    mlflow.log_param("lr", 0.1)
    mlflow.log_metric("loss", 0.5, step=1)
    mlflow.log_text("hello", "notes/hello.txt")
exp_id = run.info.experiment_id
out["run_status"] = MlflowClient().get_run(run.info.run_id).info.status
out["artifacts"] = [f.path for f in MlflowClient().list_artifacts(run.info.run_id, "notes")]
out["alice_self_get"] = get_app_client("basic-auth", tracking_uri=uri).get_user("alice").username
out["alice_perm"] = {
    k: getattr(auth.get_user_permission("alice", "experiment", exp_id), k) for k in ("allowed", "permission")
}
MlflowClient().create_registered_model("alice-model")

# ---- mallory: reads (default READ) but cannot delete or change
as_user("mallory", "mallory-pw")
client = MlflowClient()
out["mallory_read"] = client.get_run(run.info.run_id).data.params
out["mallory_delete_exp"] = code(lambda: client.delete_experiment(exp_id))
out["mallory_log"] = code(lambda: client.log_metric(run.info.run_id, "loss", 9.0))
out["mallory_delete_model"] = code(lambda: client.delete_registered_model("alice-model"))
out["mallory_grant"] = code(
    lambda: get_app_client("basic-auth", tracking_uri=uri).grant_user_permission(
        "mallory", "experiment", exp_id, "MANAGE"
    )
)

# ---- wrong password, no credentials
as_user("alice", "wrong")
out["wrong_password"] = code(lambda: MlflowClient().get_experiment(exp_id))
as_user(None)
out["no_credentials"] = code(lambda: MlflowClient().get_experiment(exp_id))

# ---- admin grants mallory EDIT; a Bearer token made for mallory then works
as_user(admin_user, admin_pw)
auth.grant_user_permission("mallory", "experiment", exp_id, "EDIT")
import requests  # noqa: E402

tok = requests.post(
    f"{uri}/api/2.0/labkeep/tokens/create", json={"name": "ci"}, auth=("mallory", "mallory-pw"), timeout=10
).json()["token"]
as_user(None, token=tok)
client = MlflowClient()
client.log_metric(run.info.run_id, "loss", 0.25, step=2)
out["bearer_history"] = [m.value for m in client.get_metric_history(run.info.run_id, "loss")]
out["bearer_delete_exp"] = code(lambda: client.delete_experiment(exp_id))

# ---- roles through the auth client
as_user(admin_user, admin_pw)
role = auth.create_role("default", "readers", "read everything")
rp = auth.add_role_permission(role.id, "registered_model", "*", "READ")
auth.assign_role("mallory", role.id)
out["role"] = {"name": role.name, "perm": rp.permission, "users": len(auth.list_role_users(role.id))}
out["user_roles"] = [r.name for r in auth.list_user_roles("mallory")]
auth.revoke_user_permission("mallory", "experiment", exp_id)
auth.update_user_password("alice", "alice-pw-2")
as_user("alice", "alice-pw-2")
out["new_password"] = code(lambda: MlflowClient().get_experiment(exp_id))
as_user(admin_user, admin_pw)
auth.delete_user("mallory")
out["deleted"] = code(lambda: auth.get_user("mallory"))

with open(sys.argv[1], "w") as fh:
    json.dump(out, fh)
