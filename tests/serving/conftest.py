"""Real ``labkeep models serve`` subprocesses on free loopback ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pandas as pd
import pytest

LABKEEP = shutil.which("labkeep", path=os.path.dirname(sys.executable)) or "labkeep"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(
    argv: list[str],
    port: int,
    cwd: str | None = None,
    env: dict | None = None,
    timeout: float = 90,
    ping_path: str = "/ping",
) -> Iterator[str]:
    """Run a server command and yield its base URL once /ping answers 200."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"server exited {proc.returncode}: {proc.stdout.read().decode()}")
            try:
                if httpx.get(url + ping_path, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not answer /ping within {timeout:g} s")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve_argv(model: str, port: int, *extra: str) -> list[str]:
    return [LABKEEP, "models", "serve", "-m", model, "--host", "127.0.0.1", "-p", str(port), *extra]


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory):
    """A scikit-learn classifier with a signature, and a custom model with a params schema."""
    from sklearn.linear_model import LogisticRegression

    import labkeep.pyfunc
    import labkeep.sklearn
    from tests.serving.models_for_tests import EchoParams

    root = tmp_path_factory.mktemp("serving-models")
    X = pd.DataFrame({"a": [0.1, 0.4, 2.5, 3.1], "b": [0, 0, 1, 1]})
    clf = LogisticRegression().fit(X, [0, 0, 1, 1])
    sk = str(root / "sk")
    labkeep.sklearn.save_model(clf, sk, input_example=X.head(2))
    custom = str(root / "custom")
    labkeep.pyfunc.save_model(
        custom,
        python_model=EchoParams(),
        input_example=(pd.DataFrame({"text": ["a", "b"]}), {"suffix": "!", "times": 1}),
    )
    return {"sklearn": sk, "custom": custom, "X": X, "clf": clf}


@pytest.fixture(autouse=True)
def _private_skops_cache(monkeypatch, tmp_path_factory):
    """Keep the skops load cache of these tests out of the user's ~/.cache."""
    monkeypatch.setenv("LABKEEP_SKOPS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "skops-cache"))
