"""deploy/: the Dockerfile passes hadolint, compose.yaml passes yamllint and holds the pieces of
a team deployment, haproxy.cfg passes ``haproxy -c``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPLOY = os.path.join(ROOT, "deploy")
BIN = os.path.dirname(sys.executable)
YAMLLINT_CONFIG = "{extends: default, rules: {line-length: {max: 120}, document-start: disable}}"


def _tool(name: str) -> str:
    path = os.path.join(BIN, name)
    return path if os.path.exists(path) else (shutil.which(name) or pytest.fail(f"{name} missing: install .[dev]"))


def test_dockerfile_passes_hadolint_runs_as_non_root_and_checks_health():
    path = os.path.join(DEPLOY, "Dockerfile")
    lint = subprocess.run([_tool("hadolint"), path], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    lines = [ln.strip() for ln in open(path) if ln.strip() and not ln.startswith("#")]
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    text = open(path).read()
    assert "HEALTHCHECK" in text and "/health" in text


def test_compose_file_passes_yamllint_and_wires_servers_database_s3_and_balancer():
    path = os.path.join(DEPLOY, "compose.yaml")
    lint = subprocess.run(
        [_tool("yamllint"), "-s", "-d", YAMLLINT_CONFIG, path], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    spec = yaml.safe_load(open(path))
    services = spec["services"]
    assert {"postgres", "s3", "migrate", "labkeep", "balancer"} <= set(services)
    server = services["labkeep"]
    assert server["deploy"]["replicas"] >= 2
    env = server["environment"]
    assert env["LABKEEP_BACKEND_STORE_URI"].startswith("postgresql://")
    assert env["LABKEEP_ARTIFACTS_DESTINATION"].startswith("s3://")
    # Servers start only after the one-shot migration finished; the migration after the database.
    assert server["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "db upgrade" in " ".join(services["migrate"]["command"])
    # The connection budget stated in the file holds: servers x workers x (pool + overflow) < 100.
    budget = (
        server["deploy"]["replicas"]
        * int(env["LABKEEP_WORKERS"])
        * (int(env["LABKEEP_SQL_POOL_SIZE"]) + int(env["LABKEEP_SQL_MAX_OVERFLOW"]))
    )
    assert budget < 100, budget
    mounts = " ".join(services["balancer"]["volumes"])
    assert "haproxy.cfg" in mounts and os.path.exists(os.path.join(DEPLOY, "haproxy.cfg"))


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="Debian's haproxy is not installed")
def test_haproxy_config_is_valid_and_checks_health():
    path = os.path.join(DEPLOY, "haproxy.cfg")
    check = subprocess.run(["haproxy", "-c", "-f", path], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    text = open(path).read()
    assert "uri /health" in text and "http-check expect status 200" in text


def test_deploy_readme_documents_the_rolling_schema_upgrade_and_pool_sizing():
    text = open(os.path.join(DEPLOY, "README.md")).read()
    assert "labkeep db upgrade" in text and "Rolling schema upgrade" in text
    assert "LABKEEP_SQL_POOL_SIZE" in text and "--workers" in text and "--threads" in text
