"""``labkeep import mlflow`` killed outright (SIGKILL) halfway through a big store: what it wrote is
whole runs, and running it again finishes with every point exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.transfer.helpers import run_script

HERE = os.path.dirname(__file__)
RUNS, KEYS, STEPS = 300, 10, 100


def _counts(db: str) -> tuple[int, int]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
            runs = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            points = conn.execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0, 0
    return runs, points


@pytest.mark.timeout(900)
def test_import_killed_halfway_leaves_whole_runs_and_the_rerun_finishes(tmp_path):
    src = str(tmp_path / "mlflow.db")
    run_script(
        os.path.join(HERE, "make_bulk_mlflow_db.py"), src, str(RUNS), str(KEYS), str(STEPS), cwd=str(tmp_path)
    )
    dest = tmp_path / "dest"
    db = str(dest / "labkeep.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABKEEP_", "MLFLOW_"))}
    cmd = [
        sys.executable,
        "-c",
        "from labkeep.cli import main; main()",
        "import",
        "mlflow",
        f"sqlite:///{src}",
    ]
    cmd += ["--to", str(dest), "-q"]
    proc = subprocess.Popen(cmd, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while _counts(db)[0] == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    runs, points = _counts(db)
    assert 0 < runs < RUNS, "the import was not caught halfway"
    assert points == runs * KEYS * STEPS  # whole runs only

    again = subprocess.run(cmd[:-1] + ["--json"], cwd=str(tmp_path), env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert _counts(db) == (RUNS, RUNS * KEYS * STEPS)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM latest_metrics").fetchone()[0] == RUNS * KEYS
        last = conn.execute("SELECT MIN(step), MAX(step) FROM latest_metrics").fetchone()
    assert last == (STEPS - 1, STEPS - 1)
