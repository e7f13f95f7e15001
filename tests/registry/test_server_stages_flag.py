"""``labkeep server --registry-stages`` declares the deployment's stages for every worker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import httpx

import labkeep


def _labkeep() -> str:
    return shutil.which("labkeep", path=os.path.dirname(sys.executable)) or "labkeep"


def test_server_flag_sets_user_defined_stages(tmp_path, free_port):
    env = {k: v for k, v in os.environ.items() if k != "LABKEEP_REGISTRY_STAGES"}
    proc = subprocess.Popen(
        [_labkeep(), "server", "--port", str(free_port), "--registry-stages", "Dev,QA,Production,Archived"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{free_port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        client = labkeep.Client(url)
        client.create_registered_model("Staged")
        run = client.create_run("0")
        client.create_model_version("Staged", f"runs:/{run.info.run_id}/model", run.info.run_id)
        assert client.transition_model_version_stage("Staged", "1", "qa").current_stage == "QA"
        try:
            client.transition_model_version_stage("Staged", "1", "Staging")
        except labkeep.LabkeepException as exc:
            assert exc.error_code == "INVALID_PARAMETER_VALUE"
            assert "Dev" in exc.message and "QA" in exc.message
        else:
            raise AssertionError("Staging is not a declared stage and must be refused")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_bad_stage_list_is_a_usage_error(tmp_path):
    out = subprocess.run(
        [_labkeep(), "server", "--registry-stages", "Dev,Dev"], cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 2 and "twice" in out.stderr and "Traceback" not in out.stderr
