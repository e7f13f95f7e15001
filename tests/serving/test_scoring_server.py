"""HTTP protocol of ``labkeep models serve`` (docs/reference/formats.md, scoring protocol) against real server processes."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from labkeep.version import __version__
from tests.serving.conftest import free_port, serve_argv, serving

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="module")
def sk_url(model_dirs):
    port = free_port()
    with serving(serve_argv(model_dirs["sklearn"], port), port, env=_env()) as url:
        yield url


@pytest.fixture(scope="module")
def custom_url(model_dirs):
    port = free_port()
    argv = serve_argv(model_dirs["custom"], port, "--workers", "2", "--timeout", "1")
    with serving(argv, port, env=_env()) as url:
        yield url


def post(url, body, content_type="application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return httpx.post(url + "/invocations", content=data, headers={"Content-Type": content_type}, timeout=30)


def test_health_routes(sk_url):
    for route in ("/ping", "/health"):
        r = httpx.get(sk_url + route)
        assert r.status_code == 200 and r.text == "\n"
        assert r.headers["content-type"].startswith("application/json")
    r = httpx.get(sk_url + "/version")
    assert r.status_code == 200 and r.text == __version__
    r = httpx.get(sk_url + "/invocations")
    assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}


def test_every_payload_form_gives_the_same_predictions(sk_url, model_dirs):
    expected = model_dirs["clf"].predict(model_dirs["X"].iloc[[0, 3]]).tolist()
    rows = [[0.1, 0], [3.1, 1]]
    bodies = [
        {"dataframe_split": {"columns": ["a", "b"], "data": rows}},
        {"dataframe_split": {"columns": ["a", "b"], "data": rows, "index": [5, 6]}},
        {"dataframe_records": [{"a": 0.1, "b": 0}, {"a": 3.1, "b": 1}]},
        {"instances": [{"a": 0.1, "b": 0}, {"a": 3.1, "b": 1}]},
        {"inputs": {"a": [0.1, 3.1], "b": [0, 1]}},
        {"inputs": rows},
        {"inputs": {"a": [0.1, 3.1], "b": [0, 1]}, "params": {"ignored": 1}},
    ]
    for body in bodies:
        r = post(sk_url, body)
        assert r.status_code == 200, (body, r.text)
        assert r.json() == {"predictions": expected}, body
    r = post(sk_url, "a,b\n0.1,0\n3.1,1\n", "text/csv")
    assert r.status_code == 200 and r.json() == {"predictions": expected}
    r = post(sk_url, bodies[0], "application/json; charset=utf-8")
    assert r.status_code == 200 and r.json() == {"predictions": expected}


@pytest.mark.parametrize(
    "body,code,needle",
    [
        ([1, 2], "BAD_REQUEST", "JSON object"),
        ({"columns": ["a"], "data": [[1]]}, "BAD_REQUEST", "2.0"),
        ({}, "BAD_REQUEST", "exactly one"),
        ({"inputs": [[1, 0]], "instances": [[1, 0]]}, "BAD_REQUEST", "exactly one"),
        ("{not json", "BAD_REQUEST", "Invalid JSON"),
        ({"dataframe_split": {"columns": ["a"], "data": [[1.0]]}}, "INVALID_PARAMETER_VALUE", "'b'"),
        (
            {"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 1.5]]}},
            "INVALID_PARAMETER_VALUE",
            "'b'",
        ),
        (
            {"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1.0, 1, 2]]}},
            "INVALID_PARAMETER_VALUE",
            "'c'",
        ),
        ({"dataframe_split": {"columns": ["a", "b"], "data": [["x", 1]]}}, "INVALID_PARAMETER_VALUE", "'a'"),
        ({"dataframe_split": "nope"}, "BAD_REQUEST", "dataframe_split"),
        ({"dataframe_records": [1, 2]}, "BAD_REQUEST", "dataframe_records"),
        ({"inputs": [[1, 0]], "params": [1]}, "BAD_REQUEST", "params"),
    ],
)
def test_bad_payloads_are_400_with_error_code(sk_url, body, code, needle):
    r = post(sk_url, body)
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["error_code"] == code and needle in err["message"], err


def test_bad_csv_is_400(sk_url):
    r = post(sk_url, "a,b\n0.1,zz\n", "text/csv")
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = post(sk_url, b"\xff\xfe\x00", "text/csv")
    assert r.status_code == 400 and r.json()["error_code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "content_type,needle",
    [
        ("text/plain", "application/json"),
        ("application/json; charset=latin-1", "UTF-8"),
        ("application/json; format=pandas-split", "format"),
    ],
)
def test_unsupported_content_types_are_415_text(sk_url, content_type, needle):
    r = post(sk_url, {"inputs": [[1, 0]]}, content_type)
    assert r.status_code == 415 and needle in r.text
    assert not r.headers["content-type"].startswith("application/json")


def test_params_reach_the_model_and_are_validated(custom_url):
    body = {"dataframe_split": {"columns": ["text"], "data": [["hi"], ["yo"]]}}
    assert post(custom_url, body).json() == {"predictions": ["hi!", "yo!"]}  # schema defaults
    r = post(custom_url, {**body, "params": {"suffix": "?", "times": 3}})
    assert r.json() == {"predictions": ["hi???", "yo???"]}
    r = post(custom_url, {"inputs": ["hi"], "params": {"times": 2}})
    assert r.json() == {"predictions": ["hi!!"]}
    r = post(custom_url, {**body, "params": {"times": "many"}})
    assert (
        r.status_code == 400
        and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        and "times" in r.json()["message"]
    )


def test_exception_inside_predict_is_400_with_stack_trace(custom_url):
    r = post(custom_url, {"inputs": ["boom"]})
    assert r.status_code == 400
    err = r.json()
    assert err["error_code"] == "BAD_REQUEST" and "the model exploded" in err["message"]
    assert "RuntimeError" in err["stack_trace"]


def test_large_payload_runs_off_the_event_loop(sk_url, model_dirs):
    rows = [[0.1 * (i % 40), i % 2] for i in range(20000)]  # > 64 KiB body: worker thread path
    r = post(sk_url, {"dataframe_split": {"columns": ["a", "b"], "data": rows}})
    assert r.status_code == 200 and len(r.json()["predictions"]) == 20000


def test_slow_large_request_times_out_with_504(custom_url):
    body = {"inputs": ["sleep"] + ["x" * 100] * 800}  # > 64 KiB: predicted in a worker thread
    r = post(custom_url, body)
    assert r.status_code == 504 and "timed out" in r.text
    assert httpx.get(custom_url + "/ping").status_code == 200


def test_parquet_body(sk_url, model_dirs):
    import io

    pytest.importorskip("pyarrow")
    buf = io.BytesIO()
    model_dirs["X"].to_parquet(buf, index=False)
    r = post(sk_url, buf.getvalue(), "application/vnd.apache.parquet")
    assert r.status_code == 200
    assert r.json() == {"predictions": model_dirs["clf"].predict(model_dirs["X"]).tolist()}
