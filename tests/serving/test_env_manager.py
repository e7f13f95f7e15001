"""``--env-manager uv``: the model's environment is built from its requirements, then served from it."""

from __future__ import annotations

import httpx
import pytest

import labkeep.pyfunc
from tests.serving.conftest import free_port, serve_argv, serving


@pytest.mark.slow
def test_serve_with_uv_env_manager_runs_inside_the_built_env(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv("LABKEEP_ENV_CACHE", str(tmp_path / "envs"))
    src = tmp_path / "echo_model_for_env_test.py"
    src.write_text(
        "import labkeep.pyfunc\n\n"
        "class PrefixEcho(labkeep.pyfunc.PythonModel):\n"
        "    def predict(self, context, model_input, params=None):\n"
        "        import sys\n"
        "        return [sys.prefix] + [v * 2 for v in model_input]\n"
    )
    import importlib.util

    spec = importlib.util.spec_from_file_location("echo_model_for_env_test", src)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import sys

    sys.modules["echo_model_for_env_test"] = mod
    try:
        model = str(tmp_path / "model")
        labkeep.pyfunc.save_model(
            model, python_model=mod.PrefixEcho(), code_paths=[str(src)], pip_requirements=["cloudpickle"]
        )
    finally:
        del sys.modules["echo_model_for_env_test"]
    port = free_port()
    env = dict(os.environ)
    with serving(serve_argv(model, port, "--env-manager", "uv"), port, env=env, timeout=400) as url:
        out = httpx.post(url + "/invocations", json={"inputs": [1, 2]}, timeout=30).json()["predictions"]
    assert out[1:] == [2, 4]
    assert out[0].startswith(str(tmp_path / "envs"))  # predicted by the interpreter of the built env
