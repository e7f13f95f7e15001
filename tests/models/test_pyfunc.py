"""Custom PythonModel: artifacts, code_paths, params, context, and the loader contract."""

from __future__ import annotations

import os
import textwrap

import numpy as np
import pandas as pd
import pytest
import yaml

import labkeep.pyfunc
from labkeep.exceptions import InvalidParameterValue


class Scaler(labkeep.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["factor"]) as f:
            self.factor = float(f.read())

    def predict(self, context, model_input, params=None):
        return model_input["x"] * self.factor * (params or {}).get("k", 1)


class NoContext(labkeep.pyfunc.PythonModel):
    def predict(self, model_input):
        return np.asarray(model_input).sum(axis=1)


def test_python_model_with_artifacts_and_params(tmp_path):
    (tmp_path / "factor.txt").write_text("3")
    path = str(tmp_path / "m")
    example = (pd.DataFrame({"x": [1.0, 2.0]}), {"k": 2})
    labkeep.pyfunc.save_model(
        path, python_model=Scaler(), artifacts={"factor": str(tmp_path / "factor.txt")}, input_example=example
    )
    meta = yaml.safe_load(open(os.path.join(path, "MLmodel")))
    conf = meta["flavors"]["python_function"]
    assert conf["loader_module"] == "mlflow.pyfunc.model"
    assert conf["python_model"] == "python_model.pkl"
    assert conf["artifacts"]["factor"]["path"] == "artifacts/factor.txt"
    assert meta["saved_input_example_info"]["params"] == "true"
    assert '"k"' in meta["signature"]["params"]
    reqs = open(os.path.join(path, "requirements.txt")).read()
    assert "labkeep" in reqs and "cloudpickle" in reqs  # the pickle references labkeep.pyfunc.PythonModel
    model = labkeep.pyfunc.load_model(path)
    assert model.predict(pd.DataFrame({"x": [1.0]})).tolist() == [6.0]  # default k=2 from the params schema
    assert model.predict(pd.DataFrame({"x": [1.0]}), params={"k": 5}).tolist() == [15.0]
    assert isinstance(model.unwrap_python_model(), Scaler)
    with pytest.raises(InvalidParameterValue, match="'k'"):
        model.predict(pd.DataFrame({"x": [1.0]}), params={"k": "big"})


def test_predict_without_context_argument(tmp_path):
    path = str(tmp_path / "m")
    labkeep.pyfunc.save_model(path, python_model=NoContext(), input_example=np.array([[1.0, 2.0]]))
    assert labkeep.pyfunc.load_model(path).predict(np.array([[1.0, 2.0], [3.0, 4.0]])).tolist() == [3.0, 7.0]


def test_code_paths_are_on_sys_path_at_load(tmp_path):
    code = tmp_path / "helpers_for_test_pyfunc.py"
    code.write_text("def offset():\n    return 10\n")
    model_src = tmp_path / "mod_for_test_pyfunc.py"
    model_src.write_text(
        textwrap.dedent(
            """
            import labkeep.pyfunc

            class Offset(labkeep.pyfunc.PythonModel):
                def predict(self, context, model_input, params=None):
                    import helpers_for_test_pyfunc
                    return [v + helpers_for_test_pyfunc.offset() for v in model_input]
            """
        )
    )
    import subprocess
    import sys

    path = tmp_path / "m"
    save = (
        "import sys; sys.path.insert(0, sys.argv[1]); import labkeep.pyfunc, mod_for_test_pyfunc;"
        "labkeep.pyfunc.save_model(sys.argv[2], python_model=mod_for_test_pyfunc.Offset(), code_paths=[sys.argv[3], sys.argv[4]])"
    )
    subprocess.run(
        [sys.executable, "-c", save, str(tmp_path), str(path), str(code), str(model_src)], check=True
    )
    # a fresh process without tmp_path on sys.path: the copied code/ directory must be enough
    load = "import sys, labkeep.pyfunc; print(labkeep.pyfunc.load_model(sys.argv[1]).predict([1, 2]))"
    out = subprocess.run(
        [sys.executable, "-c", load, str(path)], capture_output=True, text=True, cwd="/", check=True
    )
    assert out.stdout.strip() == "[11, 12]"


def test_loader_module_model_with_data(tmp_path):
    pkg = tmp_path / "loaderpkg_for_test"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "class M:\n    def __init__(self, p):\n        self.v = open(p).read()\n"
        "    def predict(self, data):\n        return [self.v] * len(data)\n"
        "def _load_pyfunc(path):\n    return M(path)\n"
    )
    (tmp_path / "value.txt").write_text("hi")
    path = str(tmp_path / "m")
    labkeep.pyfunc.save_model(
        path, loader_module="loaderpkg_for_test", data_path=str(tmp_path / "value.txt"), code_paths=[str(pkg)]
    )
    assert labkeep.pyfunc.load_model(path).predict([1, 2]) == ["hi", "hi"]


def test_errors(tmp_path):
    with pytest.raises(InvalidParameterValue):
        labkeep.pyfunc.save_model(str(tmp_path / "a"))
    os.makedirs(tmp_path / "nopyfunc")
    (tmp_path / "nopyfunc" / "MLmodel").write_text("flavors:\n  other: {}\n")
    with pytest.raises(InvalidParameterValue, match="python_function"):
        labkeep.pyfunc.load_model(str(tmp_path / "nopyfunc"))
    with pytest.raises(Exception, match="does not exist"):
        labkeep.pyfunc.load_model(str(tmp_path / "missing"))
