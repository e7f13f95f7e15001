"""An MLflow SQLite store of many plain runs: python make_bulk_mlflow_db.py PATH RUNS KEYS STEPS.

mlflow 3.17.2 creates the schema and the experiment; the runs' rows are then written straight
into its tables, which is how a big history is made in seconds. Run in a subprocess by the tests.
"""

import sqlite3
import sys
import uuid

from mlflow import MlflowClient

path, runs, keys, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
exp = int(MlflowClient(f"sqlite:///{path}").create_experiment("bulk"))
db = sqlite3.connect(path)
t0 = 1_700_000_000_000
for r in range(runs):
    rid = uuid.uuid4().hex
    db.execute(
        "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status,"
        " start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id)"
        " VALUES (?, ?, 'LOCAL', '', '', 'u', 'FINISHED', ?, ?, '', 'active', ?, ?)",
        (rid, f"run-{r}", t0 + r, t0 + r + 1, f"/nonexistent/{rid}/artifacts", exp),
    )
    db.execute("INSERT INTO params (key, value, run_uuid) VALUES ('r', ?, ?)", (str(r), rid))
    db.executemany(
        "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, 0)",
        [(f"m{k}", r + s / steps, t0 + s, rid, s) for k in range(keys) for s in range(steps)],
    )
db.commit()
