"""Test helpers for the registry tests: rows in tracking tables a registry source can refer to."""

from __future__ import annotations

import uuid


def insert_run(store, artifact_root: str, run_id: str | None = None) -> tuple[str, str]:
    """Insert an experiment and a run row directly (the tracking store is another engineer's module)."""
    run_id = run_id or uuid.uuid4().hex
    exp_id = int(uuid.uuid4().int % 10**9) + 1
    exp_loc = f"{artifact_root}/{exp_id}"
    with store.db.write() as cur:
        cur.execute(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
            "last_update_time) VALUES (?, ?, ?, 'active', 0, 0)",
            (exp_id, f"exp-{exp_id}", exp_loc),
        )
        cur.execute(
            "INSERT INTO runs (run_id, experiment_id, name, user_id, status, start_time, artifact_uri, "
            "lifecycle_stage) VALUES (?, ?, 'r', 'u', 'RUNNING', 0, ?, 'active')",
            (run_id, exp_id, f"{exp_loc}/{run_id}/artifacts"),
        )
    return run_id, f"{exp_loc}/{run_id}/artifacts"


def insert_logged_model(
    store, artifact_root: str, run_id: str | None, name: str = "model"
) -> tuple[str, str]:
    model_id = "m-" + uuid.uuid4().hex
    location = f"{artifact_root}/1/models/{model_id}/artifacts"
    with store.db.write() as cur:
        cur.execute(
            "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp, "
            "last_updated_timestamp, status, lifecycle_stage, source_run_id) "
            "VALUES (?, 1, ?, ?, 0, 0, 2, 'active', ?)",
            (model_id, name, location, run_id),
        )
    return model_id, location
