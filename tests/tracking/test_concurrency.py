"""16 processes log to one SQLite file at once, starting before the file exists.

Every process creates the schema at the same moment (mlflow 3.17 fails here with a migration
race), then they all write concurrently; nothing may fail with "database is locked" and nothing
may be lost.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import labkeep

WRITER = textwrap.dedent(
    """
    import sys, time
    start_at = float(sys.argv[1])
    while time.time() < start_at:
        time.sleep(0.001)
    import labkeep as mlflow
    from labkeep.entities import Metric
    mlflow.set_experiment("concurrent")
    with mlflow.start_run(run_name=f"writer-{sys.argv[2]}") as run:
        mlflow.log_param("writer", sys.argv[2])
        for step in range(100):
            mlflow.log_metric("single", step, step=step)
        now = int(time.time() * 1000)
        client = mlflow.Client()
        for chunk in range(5):
            client.log_batch(run.info.run_id, [Metric("batch", float(i), now, chunk * 200 + i) for i in range(200)])
    print("ok", run.info.run_id)
    """
)

N = 16


def test_sixteen_writers_on_a_new_sqlite_file(tmp_path):
    start_at = time.time() + 3.0
    env_cwd = tmp_path
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(start_at), str(i)],
            cwd=env_cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(N)
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert "database is locked" not in err
        assert out.startswith("ok ")

    client = labkeep.Client(str(tmp_path))
    exp = client.get_experiment_by_name("concurrent")
    assert exp is not None
    assert len(client.search_experiments(filter_string="name = 'concurrent'")) == 1
    runs = client.search_runs([exp.experiment_id], max_results=100)
    assert len(runs) == N
    assert sorted(r.data.params["writer"] for r in runs) == sorted(str(i) for i in range(N))
    for run in runs:
        assert run.info.status == "FINISHED"
        assert len(client.get_metric_history(run.info.run_id, "single")) == 100
        assert len(client.get_metric_history(run.info.run_id, "batch")) == 1000
        assert run.data.metrics == {"single": 99.0, "batch": 199.0}
