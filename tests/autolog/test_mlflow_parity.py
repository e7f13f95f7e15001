"""The test that matters most: an ordinary mlflow training script using ``mlflow.autolog()`` gives
the same params, metric keys, run artifacts and model files run unchanged under labkeep."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.compat, pytest.mark.slow]
pytest.importorskip("mlflow")
pytest.importorskip("xgboost")

SCRIPT = os.path.join(os.path.dirname(__file__), "parity_script.py")


def _run(which: str, tmp_path) -> dict:
    cwd = tmp_path / which
    cwd.mkdir()
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "LABKEEP_DISABLE_GIT_CONTEXT": "1"}
    # mlflow infers model requirements in a subprocess (a minute here); the fallback writes the
    # same files, so only the wait is cut
    env["MLFLOW_REQUIREMENTS_INFERENCE_TIMEOUT"] = "1"
    proc = subprocess.run(
        [sys.executable, SCRIPT, which, f"sqlite:///{cwd}/store.db"],
        capture_output=True, text=True, cwd=str(cwd), env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(900)
def test_mlflow_autolog_script_logs_the_same_under_labkeep(tmp_path):
    expected = _run("mlflow", tmp_path)
    got = _run("labkeep", tmp_path)
    assert set(got) == set(expected) == {"sklearn", "xgboost"}
    for flavor in expected:
        for part in ("params", "metrics", "tags", "artifacts", "models"):
            assert got[flavor][part] == expected[flavor][part], (flavor, part)
    # the report is not vacuous
    assert "accuracy_score_X_test" in got["sklearn"]["metrics"]
    assert "test-logloss" in got["xgboost"]["metrics"]
    assert "model.pkl" in got["sklearn"]["models"]["model"]
    assert "model.ubj" in got["xgboost"]["models"]["model"]
