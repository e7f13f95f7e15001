"""Enforce a model signature on prediction input and params.

Failures raise InvalidParameterValue (error_code INVALID_PARAMETER_VALUE) naming the offending
column. Conversions are only done when safe: ints widen to floats, JSON ints/bools/strings held in
object columns are typed, strings parse to datetimes; floats become ints only when integral (1.0).
Extra columns are rejected (the model would otherwise silently ignore them).
"""

from __future__ import annotations

import logging
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.models.schema import ColSpec, ParamSchema, Schema, TensorSpec

_log = logging.getLogger(__name__)

_INT_TYPES = {"integer": "int32", "long": "int64"}
_FLOAT_TYPES = {"float": "float32", "double": "float64"}


def _fail(message: str) -> None:
    raise InvalidParameterValue(message)


def _to_frame(data: Any, schema: Schema):
    import numpy as np
    import pandas as pd

    names = schema.input_names() if schema.has_input_names() else None
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame() if data.name is not None else pd.DataFrame({names[0] if names else 0: data})
    if isinstance(data, dict):
        if all(isinstance(v, (list, tuple, np.ndarray, pd.Series)) for v in data.values()):
            return pd.DataFrame({k: list(v) if isinstance(v, tuple) else v for k, v in data.items()})
        return pd.DataFrame([data])
    if isinstance(data, np.ndarray):
        arr = data.reshape(-1, 1) if data.ndim == 1 else data
        if arr.ndim != 2:
            _fail(f"Expected 2-D input for a column-based signature, got an array of shape {data.shape}.")
        cols = names if names and arr.shape[1] == len(names) else None
        return pd.DataFrame(arr, columns=cols)
    if isinstance(data, (list, tuple)):
        if data and all(isinstance(r, dict) for r in data):
            return pd.DataFrame(list(data))
        if data and all(isinstance(r, (list, tuple)) for r in data):
            cols = names if names and all(len(r) == len(names) for r in data) else None
            return pd.DataFrame(list(data), columns=cols)
        return pd.DataFrame({names[0] if names else 0: list(data)})
    if isinstance(data, (str, bytes, int, float, bool)):
        return pd.DataFrame({names[0] if names else 0: [data]})
    _fail(f"Cannot convert input of type {type(data).__name__} to the model's column-based schema.")


def _object_values_match(values: Any, check) -> bool:
    return all(check(v) for v in values if v is not None and v == v)


def _enforce_column(series: Any, spec: ColSpec, label: str):
    """Return ``series`` converted to the spec's type, or raise naming the column."""
    import numpy as np
    import pandas as pd

    t = spec.type
    if isinstance(t, dict) or t == "any":
        return series
    kind = series.dtype.kind if isinstance(series.dtype, np.dtype) else ""
    dtype_name = str(series.dtype)

    def incompatible(extra: str = "") -> None:
        _fail(
            f"Incompatible input types for column {label}. Can not safely convert {dtype_name} to {t}.{extra}"
        )

    if t in _INT_TYPES:
        target = np.dtype(_INT_TYPES[t])
        if kind in ("i", "u"):
            if series.dtype == target:
                return series
            if np.can_cast(series.dtype, target) or t == "long":
                return series.astype(target)
            incompatible()
        if kind == "O" and _object_values_match(
            series, lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool)
        ):
            if series.isna().any():
                incompatible(" The column has missing values; declare it as double or make it optional.")
            return series.astype(target)
        if kind == "f":
            if series.isna().any():
                incompatible(" The column has missing values (NaN); integer columns cannot hold them.")
            values = series.to_numpy()
            if (values == np.floor(values)).all():  # integral floats (JSON 1.0) lose nothing
                return series.astype(target)
        incompatible()
    if t in _FLOAT_TYPES:
        target = np.dtype(_FLOAT_TYPES[t])
        if kind in ("i", "u", "f"):
            return series if series.dtype == target else series.astype(target)
        if kind == "O" and _object_values_match(
            series, lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        ):
            return series.astype(target)
        if dtype_name.lower().startswith(("int", "float")):  # pandas nullable numerics
            return series.astype(target)
        incompatible()
    if t == "boolean":
        if kind == "b" or dtype_name == "boolean":
            return series
        if kind == "O" and _object_values_match(series, lambda v: isinstance(v, (bool, np.bool_))):
            return series.astype(bool)
        incompatible()
    if t == "string":
        if kind in ("U",) or dtype_name.startswith(("string", "str")):
            return series
        if kind == "O" and _object_values_match(series, lambda v: isinstance(v, str)):
            return series
        incompatible()
    if t == "binary":
        if kind == "O" and _object_values_match(series, lambda v: isinstance(v, (bytes, bytearray, str))):
            return series
        if kind == "S":
            return series
        incompatible()
    if t == "datetime":
        if kind == "M":
            return series
        try:
            return pd.to_datetime(series)
        except (ValueError, TypeError):
            incompatible(" Values must be datetimes or ISO-8601 strings.")
    return series


def _enforce_columns(data: Any, schema: Schema):
    df = _to_frame(data, schema)
    if schema.has_input_names():
        names = schema.input_names()
        present = [str(c) for c in df.columns]
        if present != list(df.columns):
            df.columns = present
        missing = [s.name for s in schema.inputs if s.required and s.name not in present]
        extra = [c for c in present if c not in set(names)]
        if missing:
            msg = f"Model is missing inputs {missing}."
            if extra:
                msg += f" Note that there were extra inputs: {extra}."
            _fail(msg)
        if extra:
            _fail(f"Input has columns not in the model signature: {extra}. Expected columns: {names}.")
        order = [n for n in names if n in present]
        if order != present:
            df = df[order]
        out = None
        for spec in schema.inputs:
            if spec.name not in present:
                continue
            col = df[spec.name]
            if spec.required or not _is_optional_na(col):
                new = _enforce_column(col, spec, repr(spec.name))
            else:
                new = col
            if new is not col:
                if out is None:
                    out = df.copy()
                out[spec.name] = new
        return df if out is None else out
    # unnamed columns: positional
    if len(df.columns) != len(schema.inputs):
        _fail(f"Model expects {len(schema.inputs)} unnamed input column(s), got {len(df.columns)}.")
    out = None
    for i, spec in enumerate(schema.inputs):
        col = df.iloc[:, i]
        new = _enforce_column(col, spec, str(i))
        if new is not col:
            if out is None:
                out = df.copy()
            out.isetitem(i, new)
    return df if out is None else out


def _is_optional_na(col: Any) -> bool:
    return bool(col.isna().all())


def _enforce_tensor(value: Any, spec: TensorSpec, label: str):
    import numpy as np
    import pandas as pd

    if isinstance(value, (pd.DataFrame, pd.Series)):
        value = value.to_numpy()
    try:
        arr = value if isinstance(value, np.ndarray) else np.asarray(value)
    except ValueError as e:
        _fail(f"Input {label} is not a rectangular array: {e}")
    target = np.dtype(spec.dtype)
    if arr.dtype != target:
        src = arr.dtype
        numeric_ok = src.kind in "iub" and target.kind in "iuf" or (src.kind == "f" and target.kind == "f")
        if np.can_cast(src, target) or numeric_ok:
            arr = arr.astype(target)
        else:
            _fail(f"Incompatible input types for tensor {label}. Can not safely convert {src} to {target}.")
    shape = spec.shape
    if shape:
        if arr.ndim != len(shape) or any(d != -1 and d != a for d, a in zip(shape, arr.shape, strict=False)):
            _fail(f"Shape of input {label} {arr.shape} does not match expected shape {tuple(shape)}.")
    return arr


def enforce_schema(data: Any, schema: Schema | None) -> Any:
    """Check ``data`` against ``schema`` and return it converted (DataFrame or ndarray/dict)."""
    if schema is None or not schema.inputs:
        return data
    if not schema.is_tensor_spec:
        return _enforce_columns(data, schema)
    if schema.has_input_names():
        if not isinstance(data, dict):
            import pandas as pd

            if isinstance(data, pd.DataFrame):
                data = {c: data[c].to_numpy() for c in data.columns}
            elif len(schema.inputs) == 1:
                data = {schema.inputs[0].name: data}
            else:
                _fail(f"Model expects named tensor inputs {schema.input_names()}; pass a dict.")
        missing = [n for n in schema.input_names() if n not in data]
        if missing:
            _fail(f"Model is missing inputs {missing}.")
        extra = [k for k in data if k not in set(schema.input_names())]
        if extra:
            _fail(f"Input has tensors not in the model signature: {extra}.")
        return {s.name: _enforce_tensor(data[s.name], s, repr(s.name)) for s in schema.inputs}
    return _enforce_tensor(data, schema.inputs[0], "0")


def _convert_param(name: str, value: Any, spec) -> Any:
    def one(v):
        if spec.type in ("float", "double") and isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
        if spec.type in ("integer", "long") and isinstance(v, int) and not isinstance(v, bool):
            return v
        if spec.type == "boolean" and isinstance(v, bool):
            return v
        if spec.type in ("string", "datetime", "binary") and isinstance(v, str):
            return v
        if spec.type == "binary" and isinstance(v, bytes):
            return v
        if hasattr(v, "item"):  # numpy scalar
            return one(v.item())
        _fail(f"Invalid value {v!r} for param {name!r}: expected type {spec.type}.")

    if spec.shape is not None:
        if not isinstance(value, (list, tuple)):
            _fail(f"Param {name!r} expects a list of {spec.type}.")
        return [one(v) for v in value]
    if isinstance(value, (list, tuple)):
        _fail(f"Param {name!r} expects a single {spec.type} value, not a list.")
    return one(value)


def enforce_params(params: dict | None, schema: ParamSchema | None) -> dict | None:
    """Fill defaults, convert types, drop unknown params with a warning."""
    if schema is None:
        if params:
            _log.warning("Model has no params schema; ignoring params %s.", sorted(params))
        return None
    params = dict(params or {})
    if not isinstance(params, dict):
        _fail("params must be a JSON object.")
    out = {}
    known = {p.name for p in schema.params}
    unknown = [k for k in params if k not in known]
    if unknown:
        _log.warning("Ignoring params not in the model's params schema: %s", unknown)
    for spec in schema.params:
        out[spec.name] = (
            _convert_param(spec.name, params[spec.name], spec) if spec.name in params else spec.default
        )
    return out
