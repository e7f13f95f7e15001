"""Through a real ``labkeep server``: models logged by either client load with the other.

mlflow 3.17.2 logs a model (logged-model flow, artifact proxy, registry) and labkeep loads and
serves it; labkeep logs a model over REST and mlflow's pyfunc/sklearn loaders load it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.serving.conftest import LABKEEP, free_port, serving

pytestmark = pytest.mark.compat


@pytest.fixture
def server(tmp_path):
    port = free_port()
    argv = [
        LABKEEP,
        "server",
        "--host",
        "127.0.0.1",
        "-p",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{tmp_path}/srv.db",
    ]
    argv += ["--artifacts-destination", str(tmp_path / "artifacts")]
    with serving(
        argv, port, cwd=str(tmp_path), env={**os.environ, "PYTHONWARNINGS": "ignore"}, ping_path="/health"
    ) as url:
        yield url


def _python(code: str, url: str, cwd) -> str:
    env = {**os.environ, "MLFLOW_TRACKING_URI": url, "PYTHONWARNINGS": "ignore"}
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


TRAIN = """
import pandas as pd
from sklearn.linear_model import LinearRegression
X = pd.DataFrame({"x": [1.0, 2.0, 3.0]}); y = [2.0, 4.0, 6.0]
model = LinearRegression().fit(X, y)
"""


def test_mlflow_logged_model_loads_in_labkeep(server, tmp_path):
    run_id = _python(
        TRAIN
        + """
import mlflow, mlflow.sklearn
mlflow.set_experiment("compat")
with mlflow.start_run() as run:
    mlflow.sklearn.log_model(model, name="model", input_example=X.head(1), registered_model_name="Shared",
                             pip_requirements=["scikit-learn"])
print(run.info.run_id)
""",
        server,
        tmp_path,
    )
    out = _python(
        f"""
import labkeep.pyfunc, labkeep.sklearn, pandas as pd
X = pd.DataFrame({{"x": [5.0]}})
a = labkeep.pyfunc.load_model("runs:/{run_id}/model").predict(X)
b = labkeep.sklearn.load_model("models:/Shared/1").predict(X)
print([round(float(a[0]), 6), round(float(b[0]), 6)])
""",
        server,
        tmp_path,
    )
    assert out == "[10.0, 10.0]"


def test_labkeep_logged_model_loads_in_mlflow(server, tmp_path):
    _python(
        TRAIN
        + """
import labkeep, labkeep.sklearn
labkeep.set_experiment("compat2")
with labkeep.start_run():
    info = labkeep.sklearn.log_model(model, name="model", input_example=X.head(1), registered_model_name="FromLabkeep")
print(info.model_uri)
""",
        server,
        tmp_path,
    )
    out = _python(
        """
import mlflow.pyfunc, mlflow.sklearn, pandas as pd
X = pd.DataFrame({"x": [5.0]})
a = mlflow.pyfunc.load_model("models:/FromLabkeep/1").predict(X)
b = mlflow.sklearn.load_model("models:/FromLabkeep/latest").predict(X)
print([round(float(a[0]), 6), round(float(b[0]), 6)])
""",
        server,
        tmp_path,
    )
    assert out == "[10.0, 10.0]"
