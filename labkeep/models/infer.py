"""Infer schemas and signatures from example data (pandas, numpy, dict, list, scalars)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.models.schema import ColSpec, ModelSignature, ParamSchema, ParamSpec, Schema, TensorSpec


def _scalar_type(value: Any) -> str | dict | None:
    """Column type of one Python/numpy scalar (None for missing values)."""
    import numpy as np

    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, (int, np.integer)):
        if isinstance(value, (np.int8, np.int16, np.int32, np.uint8, np.uint16)):
            return "integer"
        return "long"
    if isinstance(value, np.float32):
        return "float"
    if isinstance(value, (float, np.floating)):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "binary"
    if isinstance(value, (_dt.datetime, _dt.date, np.datetime64)):
        return "datetime"
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [t for t in (_scalar_type(v) for v in value) if t is not None]
        return {"type": "array", "items": _type_dict(_merge(items))}
    if isinstance(value, dict):
        props = {}
        for k, v in value.items():
            t = _scalar_type(v)
            props[str(k)] = {**_type_dict(t if t is not None else "any"), "required": t is not None}
        return {"type": "object", "properties": props}
    raise InvalidParameterValue(f"Cannot infer a schema type for a value of type {type(value).__name__}.")


def _type_dict(t: Any) -> dict:
    return dict(t) if isinstance(t, dict) else {"type": t}


def _merge(types: list) -> Any:
    """One type for a list of value types; ints and floats widen to double."""
    distinct = []
    for t in types:
        if t not in distinct:
            distinct.append(t)
    if not distinct:
        return "any"
    if len(distinct) == 1:
        return distinct[0]
    if set(map(str, distinct)) <= {"integer", "long", "float", "double"}:
        return "double"
    return "any"


_DTYPE_KIND_TYPES = {"b": "boolean", "M": "datetime"}


def _dtype_type(dtype: Any) -> str | None:
    """Column type for a numpy/pandas dtype, or None when values must be inspected."""
    import numpy as np

    try:
        np_dtype = np.dtype(dtype)
    except TypeError:  # pandas extension dtypes
        name = str(dtype).lower()
        if name in ("string", "str") or name.startswith("string"):
            return "string"
        if name == "boolean":
            return "boolean"
        if name in ("int64", "int"):
            return "long"
        if name.startswith("int"):
            return "integer" if name in ("int8", "int16", "int32") else "long"
        if name.startswith("float"):
            return "float" if name == "float32" else "double"
        if name.startswith("datetime"):
            return "datetime"
        return None
    kind = np_dtype.kind
    if kind in _DTYPE_KIND_TYPES:
        return _DTYPE_KIND_TYPES[kind]
    if kind == "i":
        return "integer" if np_dtype.itemsize <= 4 else "long"
    if kind == "u":
        return "integer" if np_dtype.itemsize <= 2 else "long"
    if kind == "f":
        return "float" if np_dtype.itemsize <= 4 else "double"
    if kind in "US":
        return "string" if kind == "U" else "binary"
    return None


def _column_spec(name: Any, values: Any, dtype: Any = None) -> ColSpec:
    t = _dtype_type(dtype) if dtype is not None else None
    required = True
    if t is None:
        types = []
        for v in values:
            vt = _scalar_type(v)
            if vt is None:
                required = False
            else:
                types.append(vt)
        t = _merge(types)
    else:
        try:
            import pandas as pd

            required = not bool(pd.isna(values).any()) if len(values) else True
        except Exception:  # values not checkable for NA: keep required
            pass
    col_type = {"type": "any"} if t == "any" else t
    return ColSpec(col_type, None if name is None else str(name), required)


def infer_schema(data: Any) -> Schema:
    """Schema of example data: DataFrame/Series/list/dict → columns; ndarray (dict of) → tensors."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return Schema([_column_spec(c, data[c], data[c].dtype) for c in data.columns])
    if isinstance(data, pd.Series):
        return Schema([_column_spec(data.name, data, data.dtype)])
    if isinstance(data, np.ndarray):
        if data.dtype.kind in "OUS" and data.ndim <= 1:
            return Schema([_column_spec(None, data, data.dtype if data.dtype.kind != "O" else None)])
        return Schema([TensorSpec(data.dtype.name, (-1, *data.shape[1:]))])
    if isinstance(data, dict):
        if data and all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema([TensorSpec(v.dtype.name, (-1, *v.shape[1:]), str(k)) for k, v in data.items()])
        specs = []
        for k, v in data.items():
            vt = _scalar_type(v)
            # dict of lists = columnar input; dict of scalars = one record
            if isinstance(v, list) and v and not any(isinstance(i, (list, dict)) for i in v):
                specs.append(_column_spec(k, v))
            else:
                specs.append(ColSpec(vt if vt is not None else {"type": "any"}, str(k), vt is not None))
        return Schema(specs)
    if isinstance(data, (list, tuple)):
        if data and all(isinstance(r, dict) for r in data):
            return infer_schema(pd.DataFrame(list(data)))
        if data and all(isinstance(r, (list, tuple)) for r in data):
            return infer_schema(np.asarray(data))
        return Schema([_column_spec(None, list(data))])
    if isinstance(data, (str, bytes, bool, int, float)):
        return Schema([_column_spec(None, [data])])
    try:
        import scipy.sparse as sp

        if sp.issparse(data):
            return Schema([TensorSpec(data.dtype.name, (-1, *data.shape[1:]))])
    except ImportError:
        pass
    raise InvalidParameterValue(
        f"Cannot infer a signature from data of type {type(data).__name__}; pass a pandas DataFrame, "
        "numpy array, dict or list."
    )


def infer_output_schema(output: Any, input_schema: Schema | None = None) -> Schema:
    """Output schema; 1-D predictions of a column-based model are recorded as one unnamed column."""
    import numpy as np

    if (
        isinstance(output, np.ndarray)
        and output.ndim == 1
        and (input_schema is None or not input_schema.is_tensor_spec)
    ):
        t = _dtype_type(output.dtype)
        if t is not None:
            return Schema([ColSpec(t, None, True)])
    return infer_schema(output)


def infer_param_schema(params: dict[str, Any]) -> ParamSchema:
    specs = []
    for name, value in params.items():
        shape = None
        sample = value
        if isinstance(value, (list, tuple)):
            shape = (-1,)
            sample = value[0] if value else None
        t = _scalar_type(sample)
        if not isinstance(t, str):
            raise InvalidParameterValue(f"Parameter {name!r} must be a scalar or a list of scalars.")
        specs.append(ParamSpec(str(name), t, list(value) if shape else value, shape))
    return ParamSchema(specs)


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: dict | None = None
) -> ModelSignature:
    """Build a ModelSignature from example input, output and params (each optional)."""
    inputs = infer_schema(model_input) if model_input is not None else None
    outputs = infer_output_schema(model_output, inputs) if model_output is not None else None
    return ModelSignature(inputs, outputs, infer_param_schema(params) if params else None)
