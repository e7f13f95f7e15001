"""labkeep tutorial: an ordinary mlflow training script, run with ``import labkeep as mlflow``.

    python examples/tutorial.py [--ui] [--no-serve]

Everything goes to the embedded default store of the current directory (``labkeep.db`` and
``labkeep-artifacts/``). The script trains a scikit-learn LinearRegression on synthetic data,
logs params, per-epoch metrics, an artifact and a nested run, registers the model twice as
``LinearRegressionDemo`` (versions 1 and 2 on a fresh store), sets the alias ``champion``,
searches runs with a filter, serves the model for a moment and prints a prediction fetched
over HTTP, then points at the web UI (or starts it with ``--ui``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import labkeep as mlflow

MODEL_NAME = "LinearRegressionDemo"
EXPERIMENT = "labkeep-tutorial"


class StepUnavailable(Exception):
    """A part of labkeep this step needs is not in this build."""


@contextmanager
def step(title: str):
    """Print a heading; a step whose labkeep feature is missing is skipped with a note."""
    print(f"\n== {title}", flush=True)
    try:
        yield
    except StepUnavailable as exc:
        print(f"   SKIPPED: {exc}", flush=True)
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("labkeep"):
            raise
        print(f"   SKIPPED: this labkeep build has no {exc.name} yet", flush=True)


def make_data(n: int = 400, noise: float = 0.3, seed: int = 7):
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 3.0 + rng.normal(scale=noise, size=n)
    split = int(n * 0.75)
    return X[:split], y[:split], X[split:], y[split:]


def train(fit_intercept: bool, epochs: int = 5):
    """Fit on a growing share of the data each "epoch" and log train/test MSE per epoch."""
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import mean_squared_error

    X_train, y_train, X_test, y_test = make_data()
    mlflow.log_params({"fit_intercept": fit_intercept, "epochs": epochs, "n_train": len(X_train)})
    model = None
    for epoch in range(1, epochs + 1):
        rows = max(10, len(X_train) * epoch // epochs)
        model = LinearRegression(fit_intercept=fit_intercept).fit(X_train[:rows], y_train[:rows])
        train_mse = mean_squared_error(y_train[:rows], model.predict(X_train[:rows]))
        test_mse = mean_squared_error(y_test, model.predict(X_test))
        mlflow.log_metrics({"train_mse": train_mse, "test_mse": test_mse}, step=epoch)
        print(f"   epoch {epoch}: train_mse={train_mse:.4f} test_mse={test_mse:.4f}")
    return model, X_test, y_test


def track_and_register() -> list[str]:
    """Two training runs, each logging and registering its model; returns the model versions."""
    versions = []
    for fit_intercept in (False, True):
        with mlflow.start_run(run_name=f"linreg-intercept-{fit_intercept}") as run:
            model, X_test, y_test = train(fit_intercept)
            with tempfile.TemporaryDirectory() as tmp:
                coef_file = Path(tmp) / "coefficients.json"
                coef_file.write_text(
                    json.dumps({"coef": model.coef_.tolist(), "intercept": model.intercept_})
                )
                mlflow.log_artifact(str(coef_file), artifact_path="model-summary")
            with mlflow.start_run(run_name="evaluation", nested=True):
                from sklearn.metrics import r2_score

                mlflow.log_metric("r2", r2_score(y_test, model.predict(X_test)))
                mlflow.set_tag("stage", "evaluation")
            print(f"   run {run.info.run_id} logged params, metrics, an artifact and a nested run")
            with step(f"log and register the model ({MODEL_NAME})"):
                info = mlflow.sklearn.log_model(
                    model, name="model", registered_model_name=MODEL_NAME, input_example=X_test[:2]
                )
                version = str(getattr(info, "registered_model_version", "") or "")
                print(f"   logged {info.model_uri}; registered {MODEL_NAME} version {version or '?'}")
                versions.append(version)
    return versions


def set_alias(version: str) -> None:
    client = mlflow.MlflowClient()
    if not hasattr(client, "set_registered_model_alias"):
        raise StepUnavailable("the model registry client is not in this labkeep build yet")
    client.set_registered_model_alias(MODEL_NAME, "champion", version)
    mv = client.get_model_version_by_alias(MODEL_NAME, "champion")
    print(f"   models:/{MODEL_NAME}@champion -> version {mv.version}")


def search() -> None:
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    runs = mlflow.search_runs(
        experiment_ids=[experiment.experiment_id],
        filter_string="metrics.test_mse < 1 and params.fit_intercept = 'True'",
        order_by=["metrics.test_mse ASC"],
    )
    print(f"   {len(runs)} run(s) with test_mse < 1 and fit_intercept=True:")
    print(
        runs[["run_id", "tags.mlflow.runName", "metrics.test_mse", "params.fit_intercept"]].to_string(
            index=False
        )
    )


def labkeep_cli() -> list[str]:
    """The ``labkeep`` console script of this interpreter's environment."""
    exe = Path(sys.executable).with_name("labkeep")
    return [str(exe) if exe.exists() else (shutil.which("labkeep") or "labkeep")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_and_predict(version: str) -> None:
    """Start ``labkeep models serve`` on a free port, POST two rows, print the answer, stop it."""
    check = subprocess.run([*labkeep_cli(), "models", "serve", "--help"], capture_output=True, text=True)
    if check.returncode != 0:
        raise StepUnavailable("`labkeep models serve` is not in this labkeep build yet")
    port = free_port()
    uri = f"models:/{MODEL_NAME}/{version}"
    cmd = [*labkeep_cli(), "models", "serve", "-m", uri, "-p", str(port)]
    if "--env-manager" in check.stdout:
        cmd += ["--env-manager", "local"]
    print(f"   $ labkeep models serve -m {uri} -p {port}")
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the scoring server exited early:\n{server.stderr.read()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the scoring server did not answer /ping within 120 s")
            time.sleep(0.3)
        rows = [[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]]
        req = urllib.request.Request(
            f"{base}/invocations",
            data=json.dumps({"inputs": rows}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            answer = json.loads(resp.read())
        print(f"   POST {base}/invocations {rows}")
        print(f"   -> {json.dumps(answer)}")
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="labkeep tutorial")
    parser.add_argument("--ui", action="store_true", help="start `labkeep ui` at the end")
    parser.add_argument("--no-serve", action="store_true", help="skip the model serving step")
    args = parser.parse_args(argv)

    print(f"labkeep {mlflow.__version__}; tracking URI: {mlflow.get_tracking_uri()}")
    mlflow.set_experiment(EXPERIMENT)

    with step("train, track and register"):
        versions = track_and_register()
    version = versions[-1] if versions and versions[-1] else ""

    if version:
        with step(f"set alias 'champion' on version {version}"):
            set_alias(version)

    with step("search runs with a filter"):
        search()

    if version and not args.no_serve:
        with step(f"serve models:/{MODEL_NAME}/{version} and predict over HTTP"):
            serve_and_predict(version)

    cwd = os.getcwd()
    print("\n== done")
    print(f"   store: {os.path.join(cwd, 'labkeep.db')} + {os.path.join(cwd, 'labkeep-artifacts')}/")
    print(f"   runs:  labkeep runs list --experiment-name {EXPERIMENT}")
    if args.ui:
        ui = [*labkeep_cli(), "ui"]
        print(f"   starting the web UI: {' '.join(ui)}  (Ctrl-C to stop)", flush=True)
        os.execv(ui[0], ui)
    print(f"   browse it: cd {cwd} && {labkeep_cli()[0]} ui   (then open http://127.0.0.1:5000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
