import json
import os
import subprocess
import sys

import pytest

from labkeep.exceptions import InvalidParameterValue
from labkeep.projects.params import parse_param_args, resolve_command
from labkeep.projects.spec import EntryPoint, Parameter

ECHO_ARGS = "import json, sys; print(json.dumps(sys.argv[1:]))"


def _ep(command, **params):
    return EntryPoint(
        name="main", command=command, parameters={k: Parameter(k, *v) for k, v in params.items()}
    )


def test_values_are_shell_quoted_and_never_executed(tmp_path):
    script = tmp_path / "echo.py"
    script.write_text(ECHO_ARGS)
    canary = tmp_path / "canary"
    ep = _ep(f"{sys.executable} echo.py --a {{a}}", a=("string",))
    hostile = {"a": f"1; touch {canary}", "b": "$(id)", "c": "`touch " + str(canary) + "`"}
    cmd = resolve_command(ep, hostile, str(tmp_path)).command
    out = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == ["--a", f"1; touch {canary}", "--b", "$(id)", "--c", f"`touch {canary}`"]
    assert not canary.exists()


def test_declared_defaults_extras_and_logged_values(tmp_path):
    (tmp_path / "data.txt").write_text("x")
    ep = _ep(
        "python train.py --alpha {alpha} --n {n} --data {data}",
        alpha=("float", 0.5, True),
        n=("int", 3, True),
        data=("path", "data.txt", True),
    )
    resolved = resolve_command(ep, {"label": "hello", "extra_flag": 7}, str(tmp_path))
    assert (
        resolved.command
        == f"python train.py --alpha 0.5 --n 3 --data {tmp_path}/data.txt --label hello --extra_flag 7"
    )
    # Logged params carry the user-given value, not the resolved path.
    assert resolved.params_to_log == {
        "alpha": "0.5",
        "n": "3",
        "data": "data.txt",
        "label": "hello",
        "extra_flag": "7",
    }


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({}, "missing required parameter(s) lr"),
        ({"lr": "fast"}, "must be float"),
        ({"lr": "0.1", "epochs": "2.5"}, "must be int"),
        ({"lr": "0.1", "data": "nope.csv"}, "does not exist"),
        ({"lr": "0.1", "src": "just-a-name"}, "not a URI"),
    ],
)
def test_bad_parameters_rejected(tmp_path, params, fragment):
    (tmp_path / "d.csv").write_text("x")
    ep = _ep(
        "t {lr} {epochs} {data} {src}",
        lr=("float",),
        epochs=("int", 1, True),
        data=("path", "d.csv", True),
        src=("uri", "s3://b/k", True),
    )
    with pytest.raises(InvalidParameterValue) as info:
        resolve_command(ep, params, str(tmp_path))
    assert fragment in str(info.value)


def test_path_param_made_absolute_and_uri_passed_unchanged(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    ep = _ep("t {data} {src}", data=("path",), src=("uri",))
    r = resolve_command(ep, {"data": "sub", "src": "file:///etc/hosts"}, str(tmp_path))
    assert r.resolved == {"data": str(sub), "src": "file:///etc/hosts"}
    r2 = resolve_command(ep, {"data": str(sub), "src": "s3://bucket/key"}, "/")
    assert r2.resolved["data"] == str(sub) and os.path.isabs(r2.resolved["data"])


def test_parse_param_args():
    assert parse_param_args(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(InvalidParameterValue):
        parse_param_args(["novalue"])
    with pytest.raises(InvalidParameterValue):
        parse_param_args(["a=1", "a=2"])
