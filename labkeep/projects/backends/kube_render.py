"""Kubernetes manifests for a project run: the Job from the user's template, and the credentials Secret.

The template follows mlflow's: a ``batch/v1`` Job whose first container gets the run's name,
image, command and tracking variables (its placeholders ``{replaced with ...}`` are overwritten,
whatever they say). Credentials never go into the Job: they come from a Secret through ``envFrom``.
"""

from __future__ import annotations

import copy
import os
import re
import shlex
from datetime import datetime, timezone
from typing import Any

import yaml

from labkeep.projects.errors import ProjectError

RUN_ID_LABEL = "labkeep.org/run-id"
# Characters a shell would interpret: such commands run as ``sh -c``; plain ones as an argv.
_SHELL_CHARS = re.compile(r"[|&;<>()$`*?\[\]~{}#\n\\]")
DEFAULT_VALIDATION_VERSION = "1.33.0"


def load_template(path: str) -> dict[str, Any]:
    """Read and check the Job template named by ``kube-job-template-path``."""
    if not os.path.isfile(path):
        raise ProjectError(f"kube-job-template-path {path!r} does not exist.")
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        raise ProjectError(f"Cannot read the Job template {path}: {exc}")
    if not isinstance(data, dict) or data.get("kind") != "Job":
        raise ProjectError(f"The Job template {path} must be a Kubernetes Job (kind: Job).")
    containers = (((data.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")
    if not isinstance(containers, list) or not containers or not isinstance(containers[0], dict):
        raise ProjectError(f"The Job template {path} needs spec.template.spec.containers with one container.")
    return data


def dns_label(text: str, limit: int = 63) -> str:
    """``text`` as a DNS-1123 label: lowercase letters, digits and '-', starting and ending alphanumeric."""
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    label = re.sub(r"-{2,}", "-", label)[:limit].strip("-")
    return label or "project"


def job_name(project_name: str | None, now: datetime | None = None) -> str:
    """``<project>-<UTC timestamp>``, at most 63 characters (the pod name adds a suffix to it)."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S-%f")
    return f"{dns_label(project_name or 'project', 63 - len(stamp) - 1)}-{stamp}"


def container_command(command: str) -> list[str]:
    """The entry point's command for the container: a plain argv, or ``sh -c`` when it needs a shell."""
    if not _SHELL_CHARS.search(command):
        try:
            argv = shlex.split(command)
        except ValueError:
            argv = []
        if argv:
            return argv
    return ["/bin/sh", "-c", command]


def render_job(
    template: dict[str, Any],
    *,
    name: str,
    container_name: str,
    image: str,
    command: str,
    env: dict[str, str],
    run_id: str,
    secret_name: str | None,
) -> dict[str, Any]:
    """The Job to submit: the template with the run's name, image, command and environment filled in."""
    job = copy.deepcopy(template)
    job.setdefault("apiVersion", "batch/v1")
    meta = job.setdefault("metadata", {}) or {}
    job["metadata"] = meta
    meta["name"] = name
    meta.setdefault("namespace", "default")
    meta.setdefault("labels", {})[RUN_ID_LABEL] = run_id
    pod = job["spec"]["template"]
    pod.setdefault("metadata", {}).setdefault("labels", {})[RUN_ID_LABEL] = run_id
    pod["spec"].setdefault("restartPolicy", "Never")
    container = pod["spec"]["containers"][0]
    container["name"] = container_name
    container["image"] = image
    container["command"] = container_command(command)
    container.pop("args", None)
    given = [e for e in (container.get("env") or []) if isinstance(e, dict) and e.get("name") not in env]
    container["env"] = given + [{"name": k, "value": v} for k, v in env.items()]
    if secret_name:
        env_from = [e for e in (container.get("envFrom") or []) if isinstance(e, dict)]
        container["envFrom"] = env_from + [{"secretRef": {"name": secret_name}}]
    return job


def render_secret(name: str, namespace: str, run_id: str, values: dict[str, str]) -> dict[str, Any]:
    """The Secret holding this machine's tracking credentials for the Job's pod."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": {RUN_ID_LABEL: run_id}},
        "stringData": dict(values),
    }


def validate_manifest(manifest: dict[str, Any], version: str = DEFAULT_VALIDATION_VERSION) -> None:
    """Check ``manifest`` against the Kubernetes OpenAPI schema (strict: unknown fields are errors).

    Does nothing when ``kubernetes-validate`` is not installed (it comes with ``labkeep[kubernetes]``).
    """
    try:
        import kubernetes_validate
    except ImportError:
        return
    try:
        kubernetes_validate.validate(manifest, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in getattr(exc, "path", []) or [])
        kind = manifest.get("kind", "manifest")
        raise ProjectError(
            f"The rendered {kind} is not valid for Kubernetes {version}: {exc.message}"
            + (f" (at {where})" if where else "")
        )
    except kubernetes_validate.VersionNotSupportedError:
        raise ProjectError(
            f"kubernetes-validate has no schema for Kubernetes {version}; set 'kubernetes-version'."
        )


def dump(manifests: list[dict[str, Any]]) -> str:
    """The manifests as one YAML stream."""
    return yaml.safe_dump_all(manifests, sort_keys=False, default_flow_style=False)
