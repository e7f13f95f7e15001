"""Helpers of the transfer tests: run scripts in subprocesses, compare dumps."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HERE = os.path.dirname(__file__)


def run_script(*args: str, cwd: str, env: dict | None = None) -> str:
    full = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "GIT_PYTHON_REFRESH": "quiet", **(env or {})}
    full = {
        k: v for k, v in full.items() if not k.startswith("LABKEEP_") or k == "LABKEEP_DISABLE_GIT_CONTEXT"
    }
    proc = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def make_mlflow_store(uri: str, cwd: str) -> str:
    """Fill ``uri`` with the standard history; returns the main run's id."""
    return run_script(os.path.join(HERE, "make_mlflow_store.py"), uri, cwd=cwd).strip().splitlines()[-1]


def dump(which: str, uri: str, cwd: str) -> dict:
    """Everything a transfer must carry, as ``which`` (mlflow or labkeep) reads it back from ``uri``."""
    return json.loads(run_script(os.path.join(HERE, "dump.py"), which, uri, cwd=cwd))


def differences(a, b, path: str = "") -> list[str]:
    """Readable differences between two dumps (empty when equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}/{k} only in {'first' if k in a else 'second'}")
            else:
                out += differences(a[k], b[k], f"{path}/{k}")
        return out
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def labkeep_cli(*args: str, cwd: str) -> subprocess.CompletedProcess:
    """``labkeep ARGS`` in a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABKEEP_", "MLFLOW_"))}
    return subprocess.run(
        [sys.executable, "-c", "from labkeep.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
