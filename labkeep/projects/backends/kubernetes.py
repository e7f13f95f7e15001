"""``--backend kubernetes``: the entry point runs as a Kubernetes Job, through the official client.

mlflow's config keys: ``kube-job-template-path`` (required), ``repository-uri`` (required unless
``image`` names a ready image), ``kube-context`` (default: the kubeconfig's current context, or the
in-cluster config). labkeep's own: ``image``, ``tracking-uri`` (what the pod uses; also
``KUBE_MLFLOW_TRACKING_URI``), ``credentials-secret`` (an existing Secret with the tracking
credentials), ``kubernetes-version`` (the schema manifests are validated against).

Credentials set on this machine (``MLFLOW_TRACKING_TOKEN``, ...) go into a Secret created for the
run, owned by the Job (deleted with it), and reach the pod through ``envFrom``, never inline.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from labkeep.projects.backends import check_keys
from labkeep.projects.backends.common import (
    LogSink,
    RemoteSupervisor,
    RunContext,
    credentials_from_environment,
    is_remote_uri,
    tracking_env,
)
from labkeep.projects.backends.kube_image import build_and_push, planned_image
from labkeep.projects.backends.kube_render import (
    DEFAULT_VALIDATION_VERSION,
    dns_label,
    dump,
    job_name,
    load_template,
    render_job,
    render_secret,
    validate_manifest,
)
from labkeep.projects.errors import ProjectError
from labkeep.projects.output import say

CONFIG_KEYS = (
    "kube-context",
    "repository-uri",
    "kube-job-template-path",
    "image",
    "tracking-uri",
    "credentials-secret",
    "kubernetes-version",
)
POLL_SECONDS = 1.0
_MAX_POLL_ERRORS = 60


def parse_config(config: dict[str, Any]) -> dict[str, Any]:
    """Check the keys; the template is read and checked here, before anything is recorded."""
    check_keys(config, CONFIG_KEYS, "kubernetes")
    cfg = dict(config)
    if not cfg.get("kube-job-template-path"):
        raise ProjectError(
            "The kubernetes backend config needs 'kube-job-template-path' (a Job template YAML)."
        )
    if not cfg.get("repository-uri") and not cfg.get("image"):
        raise ProjectError(
            "The kubernetes backend config needs 'repository-uri' (where the built image is pushed) "
            "or 'image' (a ready image to run)."
        )
    cfg["template"] = load_template(str(cfg["kube-job-template-path"]))
    cfg.setdefault("kubernetes-version", DEFAULT_VALIDATION_VERSION)
    return cfg


def pod_tracking_uri(ctx: RunContext, cfg: dict[str, Any]) -> str:
    """The tracking server URL the pod logs to (a database store cannot be opened from a pod)."""
    uri = cfg.get("tracking-uri") or os.environ.get("KUBE_MLFLOW_TRACKING_URI") or ctx.store_uri
    if not is_remote_uri(uri):
        raise ProjectError(
            f"The Job's pod cannot open the tracking store {ctx.store_uri!r}: run a tracking server the "
            "cluster can reach and pass --tracking-uri http://HOST:PORT (or the backend config key "
            "'tracking-uri', or KUBE_MLFLOW_TRACKING_URI)."
        )
    if any(h in str(uri) for h in ("://127.", "://localhost", "://[::1]")):
        say(
            f"warning: the pod is given {uri}, a loopback address; it reaches the pod itself, not this machine"
        )
    return str(uri)


def manifests(ctx: RunContext, cfg: dict[str, Any], image: str, redact: bool = False) -> list[dict[str, Any]]:
    """The Secret (when credentials are passed) and the Job, validated against the Kubernetes schema."""
    assert ctx.run_id is not None
    name = ctx.extra.get("job_name") or job_name(ctx.project.name)
    ctx.extra["job_name"] = name
    namespace = (cfg["template"].get("metadata") or {}).get("namespace") or "default"
    creds = credentials_from_environment()
    secret_name = cfg.get("credentials-secret")
    out: list[dict[str, Any]] = []
    if not secret_name and creds:
        secret_name = f"{name}-tracking"
        values = {k: ("<redacted>" if redact else v) for k, v in creds.items()}
        out.append(render_secret(secret_name, namespace, ctx.run_id, values))
    job = render_job(
        cfg["template"],
        name=name,
        container_name=dns_label(ctx.project.name or "project"),
        image=image,
        command=ctx.resolved.command,
        env=tracking_env(ctx, pod_tracking_uri(ctx, cfg)),
        run_id=ctx.run_id,
        secret_name=secret_name,
    )
    out.append(job)
    for manifest in out:
        validate_manifest(manifest, str(cfg["kubernetes-version"]))
    return out


def render(ctx: RunContext, cfg: dict[str, Any]) -> str:
    """The manifests ``--dry-run`` prints (image as it would be built; secret values redacted)."""
    return dump(manifests(ctx, cfg, planned_image(ctx, cfg), redact=True))


def make_supervisor(ctx: RunContext, cfg: dict[str, Any], echo: bool = True) -> KubernetesSupervisor:
    return KubernetesSupervisor(ctx, cfg, echo)


def _api_error(exc: Exception, what: str) -> ProjectError:
    """A one-line error from a Kubernetes ApiException (its Status message) or a connection error."""
    import json

    status = getattr(exc, "status", None)
    message = str(exc)
    body = getattr(exc, "body", None)
    if body:
        try:
            message = json.loads(body).get("message") or message
        except (ValueError, AttributeError):
            pass
    code = f" (HTTP {status})" if status else ""
    return ProjectError(f"Kubernetes refused to {what}{code}: {message}")


class KubernetesSupervisor(RemoteSupervisor):
    """Builds the image, submits Secret + Job, streams the pod's log and mirrors the Job's outcome."""

    def __init__(self, ctx: RunContext, cfg: dict[str, Any], echo: bool) -> None:
        super().__init__(ctx, cfg, echo)
        self.name: str | None = None
        self.namespace = "default"
        self.secret: str | None = None
        self.batch: Any = None
        self.core: Any = None
        self._deleted = threading.Event()

    @property
    def started(self) -> bool:
        return self.name is not None

    def _connect(self) -> None:
        try:
            from kubernetes import client as k8s
            from kubernetes import config as kconfig
        except ImportError:
            raise ProjectError(
                "The kubernetes backend needs the Kubernetes client: pip install 'labkeep[kubernetes]'."
            )
        context = self.cfg.get("kube-context")
        try:
            kconfig.load_kube_config(context=context)
        except Exception as exc:  # noqa: BLE001 - ConfigException and file errors alike
            if context:
                raise ProjectError(f"Cannot load kube-context {context!r} from the kubeconfig: {exc}")
            try:
                kconfig.load_incluster_config()
            except Exception:  # noqa: BLE001
                raise ProjectError(f"No usable kubeconfig ({exc}) and not running inside a cluster.")
        api = k8s.ApiClient()
        self.batch, self.core = k8s.BatchV1Api(api), k8s.CoreV1Api(api)

    def launch(self) -> None:
        ctx, cfg = self.ctx, self.cfg
        pod_tracking_uri(ctx, cfg)  # fail before a build when the pod could not log anywhere
        self._connect()
        image, digest = build_and_push(ctx, cfg)
        self.client.set_tag(self.run_id, "mlflow.docker.image.uri", image)
        if digest:
            self.client.set_tag(self.run_id, "mlflow.docker.image.id", digest)
        docs = manifests(ctx, cfg, image)
        job = docs[-1]
        namespace = job["metadata"]["namespace"]
        secret = docs[0] if len(docs) == 2 else None
        from kubernetes.client.rest import ApiException

        if secret is not None:
            try:
                self.core.create_namespaced_secret(namespace, secret)
            except ApiException as exc:
                raise _api_error(exc, f"create Secret {secret['metadata']['name']}")
            self.secret = secret["metadata"]["name"]
        self.namespace = namespace
        say(
            f"run {self.run_id}: submitting Job {namespace}/{job['metadata']['name']}: {ctx.resolved.command}"
        )
        try:
            created = self.batch.create_namespaced_job(namespace, job)
        except ApiException as exc:
            self._delete_secret()
            raise _api_error(exc, f"create Job {job['metadata']['name']}")
        self.name = job["metadata"]["name"]
        if self.secret is not None:
            self._adopt_secret(created)
        self.client.set_tag(self.run_id, "labkeep.kubernetes.job", self.name)
        self.client.set_tag(self.run_id, "labkeep.kubernetes.namespace", namespace)
        threading.Thread(target=self._monitor, name=f"labkeep-k8s-{self.run_id}", daemon=True).start()

    def _adopt_secret(self, created: Any) -> None:
        """Make the Job own the Secret, so Kubernetes deletes it with the Job."""
        owner = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": self.name,
            "uid": created.metadata.uid,
            "blockOwnerDeletion": False,
        }
        try:
            self.core.patch_namespaced_secret(
                self.secret, self.namespace, {"metadata": {"ownerReferences": [owner]}}
            )
        except Exception as exc:  # noqa: BLE001 - the run goes on; the Secret is deleted when it ends
            say(f"warning: could not attach Secret {self.secret} to Job {self.name}: {exc}")

    def _delete_secret(self) -> None:
        if self.secret is None:
            return
        try:
            self.core.delete_namespaced_secret(self.secret, self.namespace)
        except Exception:  # noqa: BLE001 - already gone (garbage-collected with its Job) is fine
            pass

    def terminate(self, signum: int) -> None:
        """Delete the Job (and its pods); the monitor closes the run KILLED."""
        if self.name is None or self._done.is_set():
            return

        def delete() -> None:
            try:
                self.batch.delete_namespaced_job(self.name, self.namespace, propagation_policy="Background")
            finally:
                self._deleted.set()

        self._stop_in_background(signum, f"deleting Job {self.namespace}/{self.name}", delete)

    def _monitor(self) -> None:
        sink = LogSink(self.log_path, self.echo)
        streams: dict[str, threading.Thread] = {}
        status, message, errors = "FAILED", "", 0
        from kubernetes.client.rest import ApiException

        try:
            while True:
                if self._killed and self._deleted.is_set():
                    status = "KILLED"
                    break
                try:
                    job = self.batch.read_namespaced_job_status(self.name, self.namespace)
                    self._follow_pods(sink, streams)
                    errors = 0
                except ApiException as exc:
                    if exc.status == 404:
                        status, message = (
                            ("KILLED", "") if self._killed else ("KILLED", "the Job was deleted")
                        )
                        break
                    errors += 1
                except Exception as exc:  # noqa: BLE001 - connection trouble; give up after many in a row
                    errors += 1
                    message = str(exc)
                else:
                    outcome = _outcome(job)
                    if outcome is not None:
                        status, message = outcome
                        break
                if errors >= _MAX_POLL_ERRORS:
                    status, message = "FAILED", f"lost track of the Job: {message}"
                    break
                time.sleep(POLL_SECONDS)
            for thread in streams.values():
                thread.join(30)
            self.exit_code = self._exit_code(status)
        except Exception as exc:  # noqa: BLE001 - the run must still be closed
            status, message = "FAILED", f"lost track of the Job: {exc}"
        finally:
            sink.close()
        if status != "FINISHED" and message:
            say(f"run {self.run_id}: Job {self.name} {status}: {message}")
        if status == "KILLED" and self.exit_code is None:
            self.exit_code = self.killed_exit_code()
        if status != "FINISHED":
            self._delete_secret()
        self.close(status, self.log_path)

    def _pods(self) -> list[Any]:
        return list(
            self.core.list_namespaced_pod(self.namespace, label_selector=f"job-name={self.name}").items
        )

    def _follow_pods(self, sink: LogSink, streams: dict[str, threading.Thread]) -> None:
        """Start streaming the log of each pod whose container has started."""
        for pod in self._pods():
            pod_name = pod.metadata.name
            if pod_name in streams or (pod.status.phase or "Pending") in ("Pending", "Unknown"):
                continue
            thread = threading.Thread(target=self._stream, args=(pod_name, sink), daemon=True)
            streams[pod_name] = thread
            thread.start()

    def _stream(self, pod_name: str, sink: LogSink) -> None:
        try:
            resp = self.core.read_namespaced_pod_log(
                pod_name, self.namespace, follow=True, _preload_content=False
            )
            for chunk in resp.stream(4096):
                sink.write(chunk)
            resp.release_conn()
        except Exception as exc:  # noqa: BLE001 - the log is best effort; the outcome comes from the Job
            if not self._killed:
                say(f"warning: log stream of pod {pod_name} ended: {exc}")

    def _exit_code(self, status: str) -> int | None:
        if status == "FINISHED":
            return 0
        if status == "KILLED":
            return self.killed_exit_code()
        try:
            for pod in self._pods():
                for cs in pod.status.container_statuses or []:
                    term = cs.state.terminated if cs.state else None
                    if term is not None and term.exit_code:
                        return int(term.exit_code)
        except Exception:  # noqa: BLE001 - the pod may be gone already
            pass
        return 1


def _outcome(job: Any) -> tuple[str, str] | None:
    """(FINISHED|FAILED, message) once the Job has a true Complete/Failed condition, else None."""
    status = job.status
    for cond in (status.conditions or []) if status else []:
        if cond.status == "True" and cond.type == "Complete":
            return "FINISHED", cond.message or ""
        if cond.status == "True" and cond.type == "Failed":
            return "FAILED", cond.message or cond.reason or ""
    return None
