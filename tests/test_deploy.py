"""deploy/: the Dockerfile passes hadolint, compose.yaml passes yamllint and holds the pieces of
a team deployment, haproxy.cfg passes ``haproxy -c``, and the Helm chart lints and renders into
manifests that Kubernetes' schemas accept."""

from __future__ import annotations

import base64
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
    assert "## Kubernetes (Helm)" in text and "helm install" in text and "maxConnections" in text


# ---------------------------------------------------------------- Helm chart
# Rendered by Helm's own engine (helm-python-sdk ships it as a library, offline) and checked
# against Kubernetes' OpenAPI schemas bundled in kubernetes-validate: nothing downloads.
CHART = os.path.join(DEPLOY, "helm", "labkeep")
KUBE_VERSION = "1.30.0"
DB_URI = "postgresql://labkeep:s3cret@db.internal:5432/labkeep"


def _render(chart: str = CHART, **values) -> dict[str, dict]:
    """The chart's manifests as ``{kind: object}`` (one object per kind here)."""
    from helm_python import chart as helm_chart

    files = helm_chart.Chart.load(chart).render(values, name="team", namespace="ml")
    out: dict[str, dict] = {}
    for name, text in files.items():
        if not name.endswith(".yaml"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                assert doc["kind"] not in out, f"two {doc['kind']} objects"
                out[doc["kind"]] = doc
    return out


def _schema_errors(manifests: dict[str, dict]) -> list[str]:
    import kubernetes_validate

    errors = []
    for kind, obj in manifests.items():
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{kind}: {exc.message}")
    return errors


def _lint(chart: str, **values) -> list[str]:
    from helm_python import chart as helm_chart

    report = helm_chart.lint(chart, values, strict=True, kube_version=f"v{KUBE_VERSION}")
    # severity 2 = warning, 3 = error (strict: warnings fail too)
    return [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= 2] + report["errors"]


def _copy_chart(tmp_path) -> str:
    dest = str(tmp_path / "labkeep")
    shutil.copytree(CHART, dest)
    return dest


def test_helm_chart_lints_and_renders_manifests_valid_against_kubernetes_schemas():
    assert _lint(CHART, database={"uri": DB_URI}) == []
    manifests = _render(database={"uri": DB_URI}, ingress={"enabled": True})
    assert set(manifests) == {"Deployment", "Service", "Ingress", "Secret", "HorizontalPodAutoscaler", "Job"}
    assert _schema_errors(manifests) == []
    # The optional branches render valid objects too.
    manifests = _render(
        database={"uri": DB_URI},
        server={"allowedHosts": "ml.example.internal", "extraArgs": ["--auth"]},
        ingress={
            "enabled": True,
            "className": "nginx",
            "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "0"},
            "hosts": [{"host": "ml.example.internal", "paths": [{"path": "/", "pathType": "Prefix"}]}],
            "tls": [{"hosts": ["ml.example.internal"], "secretName": "ml-tls"}],
        },
        imagePullSecrets=[{"name": "registry-creds"}],
        nodeSelector={"pool": "cpu"},
        tolerations=[{"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}],
        extraEnv=[{"name": "LABKEEP_SERVER_LOG_LEVEL", "value": "info"}],
    )
    assert _schema_errors(manifests) == []
    assert manifests["Ingress"]["spec"]["tls"] == [{"hosts": ["ml.example.internal"], "secretName": "ml-tls"}]
    args = manifests["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--allowed-hosts=ml.example.internal" in args and "--auth" in args


def test_helm_chart_runs_non_root_with_health_probes_resources_and_settings_from_values():
    m = _render(
        database={"uri": DB_URI, "poolSize": 3, "maxOverflow": 2},
        server={"workers": 3, "threads": 8, "staticPrefix": "/labkeep"},
        artifacts={"s3EndpointUrl": "http://s3.internal:8333", "credentialsSecret": "s3-keys"},
    )
    pod = m["Deployment"]["spec"]["template"]["spec"]
    (server,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert server["securityContext"]["allowPrivilegeEscalation"] is False
    assert server["securityContext"]["capabilities"]["drop"] == ["ALL"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert server[probe]["httpGet"] == {"path": "/labkeep/health", "port": "http"}
    assert server["resources"]["requests"] and server["resources"]["limits"]
    assert {"--workers=3", "--threads=8", "--static-prefix=/labkeep"} <= set(server["args"])
    env = {e["name"]: e for e in server["env"]}
    assert env["LABKEEP_SQL_POOL_SIZE"]["value"] == "3" and env["LABKEEP_SQL_MAX_OVERFLOW"]["value"] == "2"
    assert env["MLFLOW_S3_ENDPOINT_URL"]["value"] == "http://s3.internal:8333"
    assert server["envFrom"] == [{"secretRef": {"name": "s3-keys"}}]
    # The URI lives only in the Secret; pod and job read it by reference.
    ref = env["LABKEEP_BACKEND_STORE_URI"]["valueFrom"]["secretKeyRef"]
    secret = m["Secret"]
    assert ref["name"] == secret["metadata"]["name"]
    assert base64.b64decode(secret["data"][ref["key"]]).decode() == DB_URI
    assert DB_URI not in yaml.safe_dump(m["Deployment"]) + yaml.safe_dump(m["Job"])
    job = m["Job"]
    assert "pre-upgrade" in job["metadata"]["annotations"]["helm.sh/hook"]
    assert "labkeep db upgrade" in " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])
    # HPA scales the Deployment; then the Deployment leaves the replica count to it.
    target = m["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert target["name"] == m["Deployment"]["metadata"]["name"]
    assert "replicas" not in m["Deployment"]["spec"]


def test_helm_chart_uses_an_existing_secret_and_refuses_missing_uri_or_too_many_connections():
    from helm_python.errors import HelmRenderError

    m = _render(database={"existingSecret": "lk-db", "secretKey": "uri"}, autoscaling={"enabled": False})
    assert "Secret" not in m and m["Deployment"]["spec"]["replicas"] == 3
    env = {e["name"]: e for e in m["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["LABKEEP_BACKEND_STORE_URI"]["valueFrom"]["secretKeyRef"] == {"name": "lk-db", "key": "uri"}
    with pytest.raises(HelmRenderError, match="database.uri"):
        _render()
    # 4 pods x 2 workers x (10 + 10) + 5 > 100
    with pytest.raises(HelmRenderError, match="connection budget exceeded"):
        _render(database={"uri": DB_URI, "poolSize": 10, "maxOverflow": 10})


def test_a_broken_chart_fails_the_lint_or_the_schema_check(tmp_path):
    chart = _copy_chart(tmp_path)
    service = os.path.join(chart, "templates", "service.yaml")
    text = open(service).read()
    # A field Kubernetes does not know: Helm renders it, the schema check refuses it.
    open(service, "w").write(text.replace("  type: {{ .Values.service.type }}", "  kind_of: ClusterIP"))
    errors = _schema_errors(_render(chart, database={"uri": DB_URI}))
    assert len(errors) == 1 and errors[0].startswith("Service:"), errors
    # A port given as a word where an integer is required.
    open(service, "w").write(text.replace("port: {{ .Values.service.port }}", "port: eighty"))
    assert any(e.startswith("Service:") for e in _schema_errors(_render(chart, database={"uri": DB_URI})))
    # A template that is not valid YAML fails Helm's lint.
    open(service, "w").write(text + "  broken: [\n")
    assert _lint(chart, database={"uri": DB_URI})
