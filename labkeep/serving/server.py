"""Run the scoring server: resolve the model, optionally build its environment, start uvicorn."""

from __future__ import annotations

import os
import sys
from typing import Any

from labkeep import config
from labkeep.exceptions import InvalidParameterValue, LabkeepException

ENV_MANAGERS = ("local", "uv", "virtualenv", "conda")


def serve(
    model_uri: str,
    host: str = "127.0.0.1",
    port: int = 5000,
    workers: int = 1,
    env_manager: str | None = None,
    timeout: int | None = None,
) -> None:
    """Serve ``model_uri`` until interrupted (blocking)."""
    from labkeep.models.uris import download_model_uri

    manager = (env_manager or "local").lower()
    if manager not in ENV_MANAGERS:
        raise InvalidParameterValue(
            f"Unknown env manager {env_manager!r}; use one of {', '.join(ENV_MANAGERS)}."
        )
    if workers < 1:
        raise InvalidParameterValue("--workers must be at least 1.")
    if timeout is not None:
        os.environ[config.SCORING_SERVER_REQUEST_TIMEOUT.name] = str(timeout)
    model_dir = download_model_uri(model_uri)
    if manager != "local":
        python = prepare_model_env(model_dir, manager)
        argv = [python, "-m", "labkeep.serving", model_dir, host, str(port), str(workers)]
        sys.stdout.flush()
        sys.stderr.flush()
        # replace this process: signals (Ctrl-C, SIGTERM) reach the server directly
        os.execv(python, argv)
    run_uvicorn(model_dir, host, port, workers)


def run_uvicorn(model_dir: str, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from labkeep.serving.app import MODEL_PATH_ENV, create_app

    kwargs: dict[str, Any] = dict(host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    if workers == 1:
        from labkeep.pyfunc.loader import load_model_from_dir

        app = create_app(load_model_from_dir(model_dir))
        freeze_heap()
        print(f"labkeep scoring server listening on http://{host}:{port}", file=sys.stderr, flush=True)
        uvicorn.run(app, **kwargs)
        return
    os.environ[MODEL_PATH_ENV] = model_dir
    print(f"labkeep scoring server ({workers} workers) on http://{host}:{port}", file=sys.stderr, flush=True)
    uvicorn.run("labkeep.serving.app:app_from_env", factory=True, workers=workers, **kwargs)


def freeze_heap() -> None:
    """Move the loaded model and libraries out of the GC's reach: full collections then stay
    cheap instead of rescanning millions of long-lived objects mid-request (p99 latency)."""
    import gc

    gc.collect()
    gc.freeze()


def prepare_model_env(model_dir: str, manager: str) -> str:
    """Build (or reuse from cache) a virtualenv from the model's python_env.yaml; return its python."""
    try:
        from labkeep.projects.env.python_env import PythonSpec, build_python_env, read_python_env
    except ImportError as e:  # projects' environment code not available
        raise LabkeepException(f"--env-manager {manager} needs labkeep's environment support: {e}")
    if manager == "conda":
        manager = "uv"  # conda.yaml pip lines equal requirements.txt; build the same env with uv
    env_file = os.path.join(model_dir, "python_env.yaml")
    if os.path.exists(env_file):
        spec = read_python_env(env_file)
    else:
        spec = PythonSpec(base_dir=model_dir)
        if os.path.exists(os.path.join(model_dir, "requirements.txt")):
            spec.dependencies = ["-r requirements.txt"]
    # The server itself runs labkeep inside the env (the running copy is installed).
    spec.dependencies = list(spec.dependencies) + ["labkeep"]
    env = build_python_env(spec, manager=manager)
    return env.python
