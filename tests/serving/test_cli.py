"""``labkeep models predict|generate-dockerfile|build-docker|serve`` as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import httpx
import pandas as pd
import pytest

from tests.serving.conftest import LABKEEP, free_port, serve_argv, serving


def _engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([LABKEEP, "models", *args], capture_output=True, text=True, timeout=120, **kw)


def test_predict_csv_and_json(tmp_path, model_dirs):
    X, clf = model_dirs["X"], model_dirs["clf"]
    X.to_csv(tmp_path / "in.csv", index=False)
    r = run(
        "predict",
        "-m",
        model_dirs["sklearn"],
        "-i",
        str(tmp_path / "in.csv"),
        "-o",
        str(tmp_path / "out.json"),
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == {"predictions": clf.predict(X).tolist()}
    (tmp_path / "in.json").write_text(json.dumps({"dataframe_split": X.to_dict(orient="split", index=False)}))
    r = run("predict", "-m", model_dirs["sklearn"], "-i", str(tmp_path / "in.json"))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"predictions": clf.predict(X).tolist()}
    (tmp_path / "records.json").write_text(X.to_json(orient="records"))
    r = run("predict", "-m", model_dirs["sklearn"], "-i", str(tmp_path / "records.json"))
    assert json.loads(r.stdout) == {"predictions": clf.predict(X).tolist()}


def test_predict_large_csv_reports_progress(tmp_path, model_dirs):
    n = 120_000
    big = pd.DataFrame({"a": [0.1 * (i % 40) for i in range(n)], "b": [i % 2 for i in range(n)]})
    big.to_csv(tmp_path / "big.csv", index=False)
    r = run(
        "predict",
        "-m",
        model_dirs["sklearn"],
        "-i",
        str(tmp_path / "big.csv"),
        "-o",
        str(tmp_path / "o.json"),
    )
    assert r.returncode == 0, r.stderr
    assert "scored 120,000 rows" in r.stderr
    assert len(json.loads((tmp_path / "o.json").read_text())["predictions"]) == n


def test_predict_errors_are_one_line(tmp_path, model_dirs):
    r = run("predict", "-m", model_dirs["sklearn"], "-i", str(tmp_path / "missing.csv"))
    assert r.returncode != 0 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "bad.csv").write_text("a\n1.0\n")
    r = run("predict", "-m", model_dirs["sklearn"], "-i", str(tmp_path / "bad.csv"))
    assert r.returncode != 0 and "missing inputs ['b']" in r.stderr and "Traceback" not in r.stderr
    r = run("serve", "-m", str(tmp_path / "nope"), "-p", str(free_port()))
    assert r.returncode != 0 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_generate_dockerfile_and_its_serve_command_outside_docker(tmp_path, model_dirs):
    out = tmp_path / "ctx"
    r = run("generate-dockerfile", "-m", model_dirs["sklearn"], "-d", str(out))
    assert r.returncode == 0, r.stderr
    text = (out / "Dockerfile").read_text()
    assert text.startswith("# Serves the model") and "FROM python:3." in text
    assert "COPY model /opt/model" in text
    assert "pip install -r /opt/model/requirements.txt" in text
    assert os.path.exists(out / "model" / "MLmodel") and os.path.exists(out / "model" / "model.skops")
    assert os.path.exists(out / "labkeep-src" / "pyproject.toml")  # source install of this labkeep
    cmd_line = [ln for ln in text.splitlines() if ln.startswith("CMD ")][0]
    cmd = json.loads(cmd_line[4:])
    assert cmd[:5] == ["labkeep", "models", "serve", "-m", "/opt/model"]
    # the image's command, pointed at the copied model and a free port, serves predictions
    port = free_port()
    argv = [LABKEEP if a == "labkeep" else a for a in cmd]
    argv[argv.index("/opt/model")] = str(out / "model")
    argv[argv.index("0.0.0.0")] = "127.0.0.1"
    argv[argv.index("8080")] = str(port)
    with serving(argv, port) as url:
        body = {"dataframe_split": {"columns": ["a", "b"], "data": [[3.1, 1]]}}
        assert httpx.post(url + "/invocations", json=body).json() == {"predictions": [1]}
    r = run("generate-dockerfile", "-m", model_dirs["sklearn"], "-d", str(out))
    assert r.returncode != 0 and "not empty" in r.stderr


@pytest.mark.skipif(_engine_answers(), reason="a Docker engine answers here; this checks the no-engine path")
def test_build_docker_without_engine_fails_clearly(model_dirs):
    r = run("build-docker", "-m", model_dirs["sklearn"], "-n", "lk-test")
    assert r.returncode != 0
    assert "no Docker engine available" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_seed_flow_serve_registered_version(tmp_path):
    """Train, log with registered_model_name twice, serve models:/LinearRegressionDemo/2 over HTTP."""
    script = tmp_path / "train.py"
    script.write_text(
        "import labkeep, labkeep.sklearn, pandas as pd\n"
        "from sklearn.linear_model import LinearRegression\n"
        "from sklearn.metrics import mean_squared_error\n"
        "X = pd.DataFrame({'x': [1.0, 2.0, 3.0, 4.0]}); y = [2.0, 4.0, 6.0, 8.0]\n"
        "labkeep.set_experiment('seed')\n"
        "with labkeep.start_run():\n"
        "    m = LinearRegression().fit(X, y)\n"
        "    labkeep.log_param('fit_intercept', True)\n"
        "    labkeep.log_metric('mse', mean_squared_error(y, m.predict(X)))\n"
        "    labkeep.sklearn.log_model(m, name='model', input_example=X.head(2), registered_model_name='LinearRegressionDemo')\n"
    )
    env = {**os.environ, "LABKEEP_TRACKING_URI": f"sqlite:///{tmp_path}/seed.db"}
    for _ in range(2):
        subprocess.run(
            [os.path.join(os.path.dirname(LABKEEP), "python"), str(script)], check=True, cwd=tmp_path, env=env
        )
    port = free_port()
    with serving(serve_argv("models:/LinearRegressionDemo/2", port), port, cwd=str(tmp_path), env=env) as url:
        r = httpx.post(url + "/invocations", json={"inputs": {"x": [5.0, 6.0]}})
        assert r.status_code == 200
        assert [round(v, 6) for v in r.json()["predictions"]] == [10.0, 12.0]


def test_predict_model_failure_is_one_line(tmp_path, model_dirs):
    (tmp_path / "in.json").write_text('{"inputs": ["boom"]}')
    env = {
        **os.environ,
        "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    }
    r = run("predict", "-m", model_dirs["custom"], "-i", str(tmp_path / "in.json"), env=env)
    assert r.returncode != 0 and "the model exploded" in r.stderr and "Traceback" not in r.stderr
