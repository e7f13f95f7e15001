"""Signature inference, MLmodel encoding and enforcement at predict time."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labkeep.exceptions import InvalidParameterValue
from labkeep.models import ModelSignature, infer_signature
from labkeep.models.enforce import enforce_params, enforce_schema
from labkeep.models.schema import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec


def test_infer_from_dataframe_matches_mlflow_encoding():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [1, 0], "s": ["x", "y"], "f": np.array([1, 2], dtype="float32")})
    sig = infer_signature(df, np.array([0, 1]))
    assert json.loads(sig.to_dict()["inputs"]) == [
        {"type": "double", "name": "a", "required": True},
        {"type": "long", "name": "b", "required": True},
        {"type": "string", "name": "s", "required": True},
        {"type": "float", "name": "f", "required": True},
    ]
    assert json.loads(sig.to_dict()["outputs"]) == [{"type": "long", "required": True}]
    assert sig.to_dict()["params"] is None


def test_infer_optional_column_from_missing_values():
    sig = infer_signature(pd.DataFrame({"a": [1.0, None]}))
    assert sig.inputs.inputs[0].required is False


def test_infer_from_numpy_is_a_tensor_spec():
    sig = infer_signature(np.zeros((3, 28, 28), dtype="float32"))
    assert json.loads(sig.inputs.to_json()) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 28, 28]}}
    ]


def test_infer_from_dict_and_list():
    sig = infer_signature({"q": "hello", "n": 3})
    assert [(c.name, c.type) for c in sig.inputs.inputs] == [("q", "string"), ("n", "long")]
    sig = infer_signature(["a", "b"])
    assert [(c.name, c.type) for c in sig.inputs.inputs] == [(None, "string")]
    sig = infer_signature([{"x": 1.5, "y": True}])
    assert [(c.name, c.type) for c in sig.inputs.inputs] == [("x", "double"), ("y", "boolean")]
    sig = infer_signature({"v": [1, 2], "w": [0.5, 1.5]})
    assert [(c.name, c.type) for c in sig.inputs.inputs] == [("v", "long"), ("w", "double")]


def test_infer_params():
    sig = infer_signature(pd.DataFrame({"a": [1]}), params={"temperature": 0.5, "tags": ["x"], "n": 2})
    assert json.loads(sig.params.to_json()) == [
        {"name": "temperature", "type": "double", "default": 0.5, "shape": None},
        {"name": "tags", "type": "string", "default": ["x"], "shape": [-1]},
        {"name": "n", "type": "long", "default": 2, "shape": None},
    ]


def test_signature_round_trip_through_dict():
    sig = ModelSignature(
        Schema(
            [ColSpec("double", "a"), ColSpec({"type": "array", "items": {"type": "string"}}, "tags", False)]
        ),
        Schema([TensorSpec("int64", (-1,))]),
        ParamSchema([ParamSpec("k", "long", 3)]),
    )
    back = ModelSignature.from_dict(sig.to_dict())
    assert back.to_dict() == sig.to_dict()


SCHEMA = Schema([ColSpec("double", "a"), ColSpec("long", "b"), ColSpec("string", "s", required=False)])


def test_enforce_converts_safely_and_orders_columns():
    df = pd.DataFrame({"b": [1, 2], "a": [1, 2]})  # ints for a double column are safe
    out = enforce_schema(df, SCHEMA)
    assert list(out.columns) == ["a", "b"]
    assert out["a"].dtype == np.float64 and out["b"].dtype == np.int64


def test_enforce_missing_column_names_it():
    with pytest.raises(InvalidParameterValue, match=r"missing inputs \['b'\]") as e:
        enforce_schema(pd.DataFrame({"a": [1.0]}), SCHEMA)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_enforce_extra_column_names_it():
    with pytest.raises(InvalidParameterValue, match=r"\['zzz'\]"):
        enforce_schema(pd.DataFrame({"a": [1.0], "b": [1], "zzz": [0]}), SCHEMA)


def test_enforce_unsafe_conversion_names_the_column():
    with pytest.raises(InvalidParameterValue, match=r"column 'b'.*float64 to long"):
        enforce_schema(pd.DataFrame({"a": [1.0], "b": [1.5]}), SCHEMA)
    with pytest.raises(InvalidParameterValue, match=r"column 'a'"):
        enforce_schema(pd.DataFrame({"a": ["x"], "b": [1]}), SCHEMA)
    with pytest.raises(InvalidParameterValue, match=r"column 's'"):
        enforce_schema(pd.DataFrame({"a": [1.0], "b": [1], "s": [3]}), SCHEMA)


def test_enforce_accepts_dict_and_records():
    out = enforce_schema({"a": [1.0], "b": [2]}, SCHEMA)
    assert out.to_dict("list") == {"a": [1.0], "b": [2]}
    out = enforce_schema([{"a": 1, "b": 2, "s": "z"}], SCHEMA)
    assert out.to_dict("records") == [{"a": 1.0, "b": 2, "s": "z"}]


def test_enforce_tensor_shape_and_dtype():
    schema = Schema([TensorSpec("float32", (-1, 2))])
    assert enforce_schema([[1, 2]], schema).dtype == np.float32
    with pytest.raises(InvalidParameterValue, match="shape"):
        enforce_schema(np.zeros((1, 3)), schema)
    with pytest.raises(InvalidParameterValue, match="tensor"):
        enforce_schema(np.array([["a", "b"]]), schema)


def test_enforce_params_defaults_conversion_and_errors():
    schema = ParamSchema([ParamSpec("t", "double", 0.5), ParamSpec("n", "long", 1)])
    assert enforce_params(None, schema) == {"t": 0.5, "n": 1}
    assert enforce_params({"t": 1, "unknown": 3}, schema) == {"t": 1.0, "n": 1}
    with pytest.raises(InvalidParameterValue, match="'n'"):
        enforce_params({"n": "many"}, schema)
