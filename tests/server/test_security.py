"""Path traversal in every spelling on every path-taking endpoint, Host allow-list, CORS, bad input.

Traversal requests are sent straight to the ASGI app with a hand-built scope, because HTTP clients
normalise ``..`` out of URLs before sending; ``scope["path"]`` is what a server hands the app after
percent-decoding, so ``%2e%2e%2f`` arrives as ``../`` and ``%252e`` as ``%2e``.
"""

from __future__ import annotations

import json
import os

import anyio
import pytest

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"

# (what a client may type, what the app sees in scope["path"] / the query after decoding)
TRAVERSALS = [
    "../secret.txt",
    "../../secret.txt",
    "a/../../secret.txt",
    "..",
    "/etc/passwd",
    "..\\secret.txt",
    "a\\..\\..\\secret.txt",
    "%2e%2e%2fsecret.txt",  # double-encoded in the URL: %252e%252e%252f
    "%2e%2e/secret.txt",
    "..%2fsecret.txt",
    "a\x00b.txt",
    "x?/../../secret.txt",
    "x#/../../secret.txt",
    "//etc/passwd",
]
# Spellings that are only dangerous at the start of a path (inside a run's prefix they are names).
ROOT_ONLY = ["C:/Windows/win.ini", "~/secret.txt", "/etc/passwd"]


def asgi_call(app, method: str, path: str, query: str = "", body: bytes = b"", headers=None):
    """One request through the ASGI app with an exact ``scope['path']``; returns (status, headers, body)."""
    from urllib.parse import quote

    hdrs = [(b"host", b"localhost")] + [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": quote(path).encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": hdrs,
        "client": ("127.0.0.1", 1),
        "server": ("localhost", 80),
    }
    sent = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    anyio.run(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), data


@pytest.fixture
def world(app, client, tmp_path):
    """An experiment, a run and a logged model, plus a secret file beside the artifact root."""
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    exp_id = client.post(f"{API}/experiments/create", json={"name": "sec"}).json()["experiment_id"]
    run_id = client.post(f"{API}/runs/create", json={"experiment_id": exp_id}).json()["run"]["info"]["run_id"]
    model_id = client.post(f"{API}/logged-models", json={"experiment_id": exp_id}).json()["model"]["info"][
        "model_id"
    ]
    client.put(f"{PROXY}/{exp_id}/{run_id}/artifacts/ok.txt", content=b"ok")
    return {"exp": exp_id, "run": run_id, "model": model_id, "tmp": tmp_path}


def _snapshot(root) -> set[str]:
    out = set()
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            out.add(os.path.join(dirpath, f))
    return out


def _assert_rejected(status, body):
    assert status in (400, 404), (status, body)
    assert b"TOP SECRET" not in body
    assert b"Traceback" not in body
    assert json.loads(body)["error_code"] in (
        "INVALID_PARAMETER_VALUE",
        "RESOURCE_DOES_NOT_EXIST",
        "ENDPOINT_NOT_FOUND",
    )


@pytest.mark.parametrize("bad", ROOT_ONLY)
def test_absolute_spellings_rejected_at_root(app, world, bad):
    from urllib.parse import quote

    before = _snapshot(world["tmp"])
    for method, path, query, body in [
        ("PUT", f"{PROXY}/{bad}", "", b"pwned"),
        ("GET", f"{PROXY}/{bad}", "", b""),
        ("DELETE", f"{PROXY}/{bad}", "", b""),
        ("GET", PROXY, f"path={quote(bad, safe='')}", b""),
        ("GET", f"{API}/artifacts/list", f"run_id={world['run']}&path={quote(bad, safe='')}", b""),
        ("GET", "/get-artifact", f"run_id={world['run']}&path={quote(bad, safe='')}", b""),
    ]:
        status, _headers, data = asgi_call(app, method, path, query, body)
        _assert_rejected(status, data)
    assert _snapshot(world["tmp"]) == before


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_traversal_rejected_everywhere(app, world, bad):
    from urllib.parse import quote

    exp, run, model = world["exp"], world["run"], world["model"]
    before = _snapshot(world["tmp"])
    prefix = f"{exp}/{run}/artifacts/"
    q = quote(bad, safe="")
    q_full = quote(prefix + bad, safe="")
    calls = [
        ("PUT", f"{PROXY}/{prefix}{bad}", "", b"pwned"),
        ("PUT", f"{PROXY}/{bad}", "", b"pwned"),
        ("GET", f"{PROXY}/{prefix}{bad}", "", b""),
        ("GET", f"{PROXY}/{bad}", "", b""),
        ("DELETE", f"{PROXY}/{prefix}{bad}", "", b""),
        ("POST", f"/api/2.0/mlflow-artifacts/mpu/create/{prefix}{bad}", "", b'{"num_parts": 1}'),
        ("POST", f"/api/2.0/mlflow-artifacts/mpu/complete/{prefix}{bad}", "", b'{"upload_id": "u"}'),
        ("POST", f"/api/2.0/mlflow-artifacts/mpu/abort/{prefix}{bad}", "", b'{"upload_id": "u"}'),
        ("GET", PROXY, f"path={q_full}", b""),
        ("GET", PROXY, f"path={q}", b""),
        ("GET", f"{API}/artifacts/list", f"run_id={run}&path={q}", b""),
        ("GET", "/get-artifact", f"run_id={run}&path={q}", b""),
        ("POST", "/ajax-api/2.0/mlflow/upload-artifact", f"run_uuid={run}&path={q}", b"pwned"),
        ("GET", f"{API}/logged-models/{model}/artifacts/directories", f"artifact_directory_path={q}", b""),
        (
            "GET",
            f"/ajax-api/2.0/mlflow/logged-models/{model}/artifacts/files",
            f"artifact_file_path={q}",
            b"",
        ),
    ]
    for method, path, query, body in calls:
        status, _headers, data = asgi_call(app, method, path, query, body)
        _assert_rejected(status, data)
    assert _snapshot(world["tmp"]) == before, "a request wrote a file"
    assert (world["tmp"] / "secret.txt").read_text() == "TOP SECRET"


@pytest.mark.parametrize(
    "location",
    [
        "/etc",
        "file:///etc",
        "../outside",
        "file:///tmp/../etc",
        "s3://bucket/../../x",
        "s3://bucket/%2e%2e/x",
        "s3://bucket/%252e%252e/x",
        "a\x00b",
        "C:\\Windows",
    ],
)
def test_artifact_location_traversal_rejected(client, location):
    r = client.post(f"{API}/experiments/create", json={"name": "x", "artifact_location": location})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_artifact_location_inside_root_or_remote_allowed(client, server_settings):
    inside = os.path.join(server_settings.artifacts_destination, "custom")
    assert (
        client.post(f"{API}/experiments/create", json={"name": "a", "artifact_location": inside}).status_code
        == 200
    )
    ok = client.post(f"{API}/experiments/create", json={"name": "b", "artifact_location": "mlflow-artifacts:/x"})
    assert ok.status_code == 200
    # a bucket the server was not configured with is never touched
    foreign = client.post(f"{API}/experiments/create", json={"name": "c", "artifact_location": "s3://bucket/x"})
    assert foreign.status_code == 400 and "not one of this server's artifact buckets" in foreign.json()["message"]


def test_trace_artifact_location_tag_cannot_reach_outside(client, tmp_path):
    """The issue's probe: a trace tagged with a foreign mlflow.artifactLocation must not read it."""
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "traces.json").write_text('{"spans": [{"name": "STOLEN"}]}')
    exp = client.post(f"{API}/experiments/create", json={"name": "t"}).json()["experiment_id"]
    info = {
        "trace_id": "tr-x",
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}},
        "request_time": "2024-01-01T00:00:00Z",
        "state": "OK",
        "tags": {"mlflow.artifactLocation": str(tmp_path / "evil")},
    }
    assert client.post("/api/3.0/mlflow/traces", json={"trace": {"trace_info": info}}).status_code == 200
    tag = {"key": "mlflow.artifactLocation", "value": f"file://{tmp_path / 'evil'}"}
    r = client.patch("/api/3.0/mlflow/traces/tr-x/tags", json=tag)
    assert r.status_code == 400
    got = client.get("/api/3.0/mlflow/traces/get", params={"trace_id": "tr-x"})
    assert got.status_code == 200 and "STOLEN" not in got.text


def test_delete_of_the_artifact_root_is_refused(app, client, server_settings):
    root = server_settings.artifacts_destination
    client.put(f"{PROXY}/1/keep.txt", content=b"keep")
    for spelling in (".", "./", "a/..", "./.", "1/.."):
        status, _, body = asgi_call(app, "DELETE", f"{PROXY}/{spelling}")
        # mlflow's own text for a '..' path is "Invalid path"; the root itself gets labkeep's message
        refused = (b"artifact root", b"without '..'", b"Invalid path")
        assert status == 400 and any(m in body for m in refused), (spelling, status, body)
    assert open(os.path.join(root, "1", "keep.txt")).read() == "keep"


def test_host_header_allow_list(app):
    for host in ("localhost", "localhost:5000", "127.0.0.1:5000", "[::1]:5000", "10.0.0.5"):
        status, _, _ = asgi_call(app, "GET", "/health", headers={"host": host})
        assert status == 200, host
    for host in ("evil.example", "evil.example:5000", "localhost.evil.example", ""):
        status, _, body = asgi_call(app, "GET", f"{API}/experiments/search", headers={"host": host})
        assert status == 403 and json.loads(body)["error_code"] == "PERMISSION_DENIED", host


def _app_with(tmp_path, sqlite_uri, **kw):
    from labkeep.server.app import create_app
    from labkeep.server.settings import ServerSettings

    return create_app(
        ServerSettings(backend_store_uri=sqlite_uri, artifacts_destination=str(tmp_path / "a"), **kw)
    )


def test_allowed_hosts_option(tmp_path, sqlite_uri):
    app = _app_with(tmp_path, sqlite_uri, allowed_hosts=["labkeep.example"])
    assert asgi_call(app, "GET", "/health", headers={"host": "labkeep.example:5000"})[0] == 200
    assert asgi_call(app, "GET", "/health", headers={"host": "evil.example"})[0] == 403
    app.state.ctx.tracking_store.close()


def test_cors_only_for_configured_origins(tmp_path, sqlite_uri):
    app = _app_with(tmp_path, sqlite_uri, cors_allowed_origins=["http://good.example"])
    status, headers, _ = asgi_call(app, "GET", "/health", headers={"origin": "http://good.example"})
    assert status == 200 and headers[b"access-control-allow-origin"] == b"http://good.example"
    status, headers, _ = asgi_call(app, "GET", "/health", headers={"origin": "http://evil.example"})
    assert b"access-control-allow-origin" not in headers
    pre = asgi_call(
        app,
        "OPTIONS",
        f"{API}/runs/create",
        headers={"origin": "http://good.example", "access-control-request-method": "POST"},
    )
    assert pre[0] == 204 and pre[1][b"access-control-allow-origin"] == b"http://good.example"
    bad = asgi_call(
        app,
        "OPTIONS",
        f"{API}/runs/create",
        headers={"origin": "http://evil.example", "access-control-request-method": "POST"},
    )
    assert bad[0] == 403 and b"access-control-allow-origin" not in bad[1]
    app.state.ctx.tracking_store.close()


def test_frame_options_header(client):
    assert client.get("/health").headers["x-frame-options"] == "SAMEORIGIN"


# ---------------------------------------------------------------- bad input never yields a 500
# Every JSON route gets garbage of every shape: wrong types, unknown ids, junk enum names.

GARBAGE_BODIES = [
    {},
    {"run_id": 5, "experiment_id": [], "key": {}, "value": [], "name": 7, "metrics": "x", "params": {"a": 1}},
    {"run_id": "nope", "experiment_id": "1x", "key": "k", "value": "v", "timestamp": "abc", "step": "s"},
    {"run_id": "nope", "metrics": [{"key": "m"}], "tags": [1, 2], "max_results": "many", "view_type": "WAT"},
    {"name": "x" * 600, "experiment_id": "99999", "status": 42, "models": [{}], "datasets": [{"dataset": 3}]},
]


def _json_routes():
    from labkeep.server.api.routes import ROUTES

    for methods, path, *_ in ROUTES:
        for m in methods:
            yield m, "/api" + path.replace("{model_id}", "m-nope").replace("{tag_key}", "k")


@pytest.mark.parametrize("method,path", list(_json_routes()))
def test_bad_input_is_4xx_json(app, world, method, path):
    for body in GARBAGE_BODIES:
        if method == "GET":
            from urllib.parse import urlencode

            query = urlencode({k: json.dumps(v) if not isinstance(v, str) else v for k, v in body.items()})
            status, _, data = asgi_call(app, method, path, query)
        else:
            status, _, data = asgi_call(
                app,
                method,
                path,
                body=json.dumps(body).encode(),
                headers={"content-type": "application/json"},
            )
        assert status < 500, (method, path, body, status, data[:300])
        payload = json.loads(data)
        if status != 200:  # some bodies are valid for some endpoints (e.g. {} for searches)
            assert 400 <= status < 500
            assert payload["error_code"] and payload["message"] and "Traceback" not in payload["message"]


@pytest.mark.parametrize(
    "raw,ctype",
    [
        (b"{not json", "application/json"),
        (b"[1,2]", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"a=b", "application/octet-stream"),
    ],
)
def test_malformed_bodies(app, raw, ctype):
    status, _, data = asgi_call(
        app, "POST", f"{API}/runs/log-batch", body=raw, headers={"content-type": ctype}
    )
    assert status == 400 and json.loads(data)["error_code"] == "INVALID_PARAMETER_VALUE"


def test_form_encoded_writes_are_refused_as_cross_site(app):
    # text/plain, form-encoded and multipart bodies are what a foreign page's <form> can send
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        status, _, data = asgi_call(
            app, "POST", f"{API}/runs/log-batch", body=b"a=b", headers={"content-type": ctype}
        )
        assert status == 403 and json.loads(data)["error_code"] == "PERMISSION_DENIED", ctype


def test_oversized_log_batch_body(client, world):
    metrics = [{"key": "m" * 200 + str(i), "value": 1.0, "timestamp": 1, "step": i} for i in range(999)]
    body = {"run_id": world["run"], "metrics": metrics, "tags": [{"key": "t", "value": "v" * 5000}] * 1}
    raw = json.dumps(body)
    assert len(raw) > 200_000
    body["params"] = [{"key": "p", "value": "x" * 900_000}]
    r = client.post(f"{API}/runs/log-batch", json=body)
    assert r.status_code == 400 and "bytes" in r.json()["message"]


def test_unexpected_store_error_is_500_json_without_traceback(app, client, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(app.state.ctx.tracking_store, "get_run", boom)  # the one fault no real input triggers
    r = client.get(f"{API}/runs/get", params={"run_id": "x"})
    assert r.status_code == 500
    assert r.json()["error_code"] == "INTERNAL_ERROR"
    assert "secret internals" not in r.text and "Traceback" not in r.text


@pytest.mark.parametrize(
    "source",
    [
        "file:///etc",
        "/etc/passwd",
        "../../outside",
        "mlflow-artifacts:/0/../../etc",
        "mlflow-artifacts:/0/%2e%2e/%2e%2e/etc",
        "mlflow-artifacts:/0/%252e%252e/x",
        "s3://bucket/../x",
        "runs:/abc/../../x",
        "models:/m-x\x00",
    ],
)
def test_model_version_source_traversal_rejected(client, world, source):
    client.post(f"{API}/registered-models/create", json={"name": "SecModel"})
    r = client.post(
        f"{API}/model-versions/create", json={"name": "SecModel", "source": source, "run_id": world["run"]}
    )
    assert r.status_code in (400, 404), r.text
    assert r.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
