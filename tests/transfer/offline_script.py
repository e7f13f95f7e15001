"""Logs a run (or resumes one) with labkeep under the environment's LABKEEP_MODE; prints its id.

python offline_script.py FIRST_STEP LAST_STEP [RUN_ID]
"""

import sys

import labkeep as mlflow

first, last = int(sys.argv[1]), int(sys.argv[2])
run_id = sys.argv[3] if len(sys.argv) > 3 else None
with mlflow.start_run(run_id=run_id, run_name=None if run_id else "offline-run") as run:
    if run_id is None:
        mlflow.log_param("where", "laptop")
        mlflow.log_text("offline artifact", "notes.txt")
    for step in range(first, last):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
print(run.info.run_id)
