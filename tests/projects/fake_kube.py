"""A tiny Kubernetes API server on loopback, for the kubernetes backend tests.

Why a fake: no Kubernetes cluster (nor any container engine) can run on this machine. The
official ``kubernetes`` client talks to this server over real HTTP through its whole API layer
(kubeconfig loading, bearer-token auth, request building, response deserialization into its model
objects, log streaming). Responses follow the shapes of the Kubernetes REST API (Job, PodList,
Pod log, Secret, Status). Every Job and Secret it receives is validated against the Kubernetes
OpenAPI schema with ``kubernetes-validate`` (strict) and refused with a 422 ``Invalid`` Status
when wrong, as a real API server would.

Its "kubelet" runs the Job's container command as a local process in ``workdir`` (there are no
images here) with exactly the environment the manifest declares, ``envFrom`` Secrets resolved, so
the command really logs to a real labkeep server with what the Job carries. Deleting the Job kills
the process.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN = "fake-cluster-token"
SCHEMA_VERSION = "1.33.0"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 400 else "Failure",
        "message": message,
        "reason": reason,
        "details": details or {},
        "code": code,
    }


class _Run:
    """One Job's pod: a local process standing in for the container."""

    def __init__(self, job: dict, secrets: dict, workdir: str, env_base: dict) -> None:
        self.job = job
        self.output = bytearray()
        self.exit_code: int | None = None
        self.phase = "Pending"
        self.pod_name = f"{job['metadata']['name']}-{uuid.uuid4().hex[:5]}"
        self.proc: subprocess.Popen | None = None
        self.deleted = False
        self.cond = threading.Condition()
        container = job["spec"]["template"]["spec"]["containers"][0]
        env = dict(env_base)
        for ref in container.get("envFrom") or []:
            secret = secrets.get(ref["secretRef"]["name"])
            if secret is not None:
                env.update(secret)
        for item in container.get("env") or []:
            env[item["name"]] = item["value"]
        self.argv = container["command"] + list(container.get("args") or [])
        threading.Thread(target=self._run, args=(env, workdir), daemon=True).start()

    def _run(self, env: dict, workdir: str) -> None:
        time.sleep(0.3)  # scheduling
        with self.cond:
            if self.deleted:
                return
            self.proc = subprocess.Popen(
                self.argv, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            self.phase = "Running"
        for line in iter(self.proc.stdout.readline, b""):
            with self.cond:
                self.output += line
                self.cond.notify_all()
        code = self.proc.wait()
        with self.cond:
            self.exit_code = code if code >= 0 else 128 - code
            self.phase = "Succeeded" if code == 0 else "Failed"
            self.cond.notify_all()

    def kill(self) -> None:
        with self.cond:
            self.deleted = True
            if self.proc is not None and self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.cond.notify_all()

    def job_status(self) -> dict:
        status: dict = {"startTime": self.job["metadata"]["creationTimestamp"]}
        if self.exit_code is None:
            status["active"] = 1
            status["ready"] = 1 if self.phase == "Running" else 0
        elif self.exit_code == 0:
            status.update(
                succeeded=1,
                completionTime=_now(),
                conditions=[
                    {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": _now(), "lastTransitionTime": _now()},
                    {"type": "Complete", "status": "True", "lastProbeTime": _now(), "lastTransitionTime": _now()},
                ],
            )
        else:
            status.update(
                failed=1,
                conditions=[
                    {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
                     "message": "Job has reached the specified backoff limit"},
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                     "message": "Job has reached the specified backoff limit",
                     "lastProbeTime": _now(), "lastTransitionTime": _now()},
                ],
            )  # fmt: skip
        return status

    def pod(self) -> dict:
        meta = self.job["metadata"]
        container = self.job["spec"]["template"]["spec"]["containers"][0]
        state: dict = {"waiting": {"reason": "ContainerCreating"}}
        if self.phase == "Running":
            state = {"running": {"startedAt": _now()}}
        elif self.exit_code is not None:
            reason = "Completed" if self.exit_code == 0 else "Error"
            state = {"terminated": {"exitCode": self.exit_code, "reason": reason, "finishedAt": _now()}}
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": self.pod_name,
                "namespace": meta["namespace"],
                "uid": str(uuid.uuid4()),
                "labels": {"job-name": meta["name"], "batch.kubernetes.io/job-name": meta["name"], "controller-uid": meta["uid"]},
            },
            "spec": {"containers": [{"name": container["name"], "image": container["image"]}], "restartPolicy": "Never"},
            "status": {
                "phase": self.phase,
                "containerStatuses": [
                    {"name": container["name"], "image": container["image"], "imageID": "", "ready": self.phase == "Running",
                     "restartCount": 0, "state": state}
                ],
            },
        }  # fmt: skip


class FakeKube:
    """Start with :meth:`start`; ``requests`` lists ``(method, path, body)``; ``jobs``/``secrets`` what exists."""

    def __init__(self, workdir: str, env_base: dict | None = None) -> None:
        self.workdir = workdir
        self.env_base = dict(env_base if env_base is not None else os.environ)
        self.requests: list[tuple[str, str, object]] = []
        self.jobs: dict[tuple[str, str], _Run] = {}
        self.secrets: dict[tuple[str, str], dict] = {}
        self.secret_docs: dict[tuple[str, str], dict] = {}
        self.refuse_jobs_with: tuple[int, str] | None = None
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> FakeKube:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        for run in list(self.jobs.values()):
            run.kill()
        self.httpd.shutdown()
        self.httpd.server_close()

    def kubeconfig(self, path: str) -> str:
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": TOKEN}}],
            "contexts": [{"name": "fake-ctx", "context": {"cluster": "fake", "user": "tester"}}],
            "current-context": "fake-ctx",
        }
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
        return path

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one response per connection; the log stream ends on close

            def log_message(self, *args) -> None:
                pass

            def _send(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"null") if length else None

            def _route(self, method: str) -> None:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, _status(401, "Unauthorized", "Unauthorized"))
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                body = self._body() if method in ("POST", "PATCH", "PUT") else None
                fake.requests.append((method, parts.path, body))
                m = re.fullmatch(r"/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/]+)(/status)?)?", parts.path)
                if m:
                    return self._jobs(method, m.group(1), m.group(2), body)
                m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/secrets(?:/([^/]+))?", parts.path)
                if m:
                    return self._secrets(method, m.group(1), m.group(2), body)
                m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods(?:/([^/]+)/log)?", parts.path)
                if m and method == "GET":
                    if m.group(2):
                        return self._log(m.group(1), m.group(2), query)
                    return self._pods(m.group(1), query)
                return self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))

            def _invalid(self, body: dict) -> str | None:
                import kubernetes_validate

                try:
                    kubernetes_validate.validate(body, SCHEMA_VERSION, strict=True)
                except kubernetes_validate.ValidationError as exc:
                    return exc.message
                return None

            def _jobs(self, method, ns, name, body):
                if method == "POST" and name is None:
                    problem = self._invalid(body)
                    if problem:
                        return self._send(422, _status(422, "Invalid", f"Job.batch is invalid: {problem}"))
                    if fake.refuse_jobs_with:
                        code, msg = fake.refuse_jobs_with
                        return self._send(code, _status(code, "Forbidden", msg))
                    body["metadata"].update(uid=str(uuid.uuid4()), creationTimestamp=_now(), resourceVersion="1")
                    secrets = {k[1]: v for k, v in fake.secrets.items() if k[0] == ns}
                    with fake.lock:
                        fake.jobs[(ns, body["metadata"]["name"])] = _Run(body, secrets, fake.workdir, fake.env_base)
                    return self._send(201, {**body, "status": {}})
                run = fake.jobs.get((ns, name))
                if run is None or run.deleted:
                    return self._send(404, _status(404, "NotFound", f'jobs.batch "{name}" not found', {"name": name, "group": "batch", "kind": "jobs"}))
                if method == "GET":
                    return self._send(200, {**run.job, "status": run.job_status()})
                if method == "DELETE":
                    run.kill()
                    return self._send(200, _status(200, "", "", {"name": name, "group": "batch", "kind": "jobs", "uid": run.job["metadata"]["uid"]}))
                return self._send(405, _status(405, "MethodNotAllowed", method))  # fmt: skip

            def _secrets(self, method, ns, name, body):
                if method == "POST":
                    problem = self._invalid(body)
                    if problem:
                        return self._send(422, _status(422, "Invalid", f"Secret is invalid: {problem}"))
                    key = (ns, body["metadata"]["name"])
                    fake.secrets[key] = dict(body.get("stringData") or {})
                    data = {k: base64.b64encode(v.encode()).decode() for k, v in fake.secrets[key].items()}
                    doc = {**body, "data": data, "metadata": {**body["metadata"], "uid": str(uuid.uuid4())}}
                    doc.pop("stringData", None)
                    fake.secret_docs[key] = doc
                    return self._send(201, doc)
                if (ns, name) not in fake.secret_docs:
                    return self._send(404, _status(404, "NotFound", f'secrets "{name}" not found'))
                if method == "PATCH":
                    fake.secret_docs[(ns, name)]["metadata"].update(body.get("metadata") or {})
                    return self._send(200, fake.secret_docs[(ns, name)])
                if method == "DELETE":
                    fake.secrets.pop((ns, name), None)
                    fake.secret_docs.pop((ns, name), None)
                    return self._send(200, _status(200, "", "", {"name": name, "kind": "secrets"}))
                return self._send(405, _status(405, "MethodNotAllowed", method))

            def _pods(self, ns, query):
                selector = (query.get("labelSelector") or [""])[0]
                job = selector.split("=", 1)[1] if selector.startswith("job-name=") else None
                items = [r.pod() for (n, j), r in list(fake.jobs.items()) if n == ns and j == job and not r.deleted]
                return self._send(200, {"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "1"}, "items": items})

            def _log(self, ns, pod, query):
                run = next((r for r in fake.jobs.values() if r.pod_name == pod), None)
                if run is None:
                    return self._send(404, _status(404, "NotFound", f'pods "{pod}" not found'))
                follow = (query.get("follow") or ["false"])[0] == "true"
                # As the real API server does, the log comes chunked (each write is one chunk).
                self.protocol_version = "HTTP/1.1"
                self.close_connection = True
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Connection", "close")
                self.end_headers()
                sent = 0
                while True:
                    with run.cond:
                        chunk = bytes(run.output[sent:])
                        finished = run.exit_code is not None or run.deleted
                        if not chunk and not finished and follow:
                            run.cond.wait(0.5)
                            continue
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                        sent += len(chunk)
                    if not follow or (finished and sent >= len(run.output)):
                        self.wfile.write(b"0\r\n\r\n")
                        return

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

            def do_PATCH(self):
                self._route("PATCH")

            def do_DELETE(self):
                self._route("DELETE")

        return Handler
