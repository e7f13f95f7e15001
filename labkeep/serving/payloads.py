"""Scoring payloads (docs/reference/formats.md, scoring protocol): parse request bodies, encode predictions.

Every parse error raises ``PayloadError`` (400 BAD_REQUEST); schema problems found later raise
InvalidParameterValue from the enforcement step.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from labkeep.exceptions import LabkeepException

INPUT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
CONTENT_JSON = "application/json"
CONTENT_CSV = "text/csv"
CONTENT_PARQUET = "application/vnd.apache.parquet"
SUPPORTED_TYPES = (CONTENT_JSON, CONTENT_CSV, CONTENT_PARQUET)


class PayloadError(LabkeepException):
    error_code = "BAD_REQUEST"


# OpenAI-style request bodies (mlflow's "unified LLM input"): the body itself is the model input.
LLM_INPUT_KEYS = ("messages", "prompt", "input")


class UnsupportedMediaType(Exception):
    """415: answered with a plain-text body."""


def parse_content_type(header: str | None) -> str:
    """Validate the Content-Type header; returns the media type or raises UnsupportedMediaType."""
    if not header:
        return CONTENT_JSON
    media, _, rest = header.partition(";")
    media = media.strip().lower()
    if media not in SUPPORTED_TYPES:
        raise UnsupportedMediaType(
            f"This predictor only supports the following content types: {', '.join(SUPPORTED_TYPES)}. "
            f"Got '{header}'."
        )
    for param in filter(None, (p.strip() for p in rest.split(";"))):
        key, _, value = param.partition("=")
        key, value = key.strip().lower(), value.strip().strip('"').lower()
        if key == "charset":
            if value not in ("utf-8", "utf8"):
                raise UnsupportedMediaType("The scoring server only supports UTF-8")
        else:
            raise UnsupportedMediaType(f"Unrecognized content type parameter: {key}")
    return media


_PROTOCOL_HINT = (
    "The input must be a JSON object with exactly one of the keys "
    f"{list(INPUT_KEYS)} (and optionally 'params'). Since MLflow 2.0 the scoring protocol "
    'expects e.g. {{"dataframe_split": {{"columns": [...], "data": [[...]]}}}}; the old bare '
    "'columns'/'data' body is no longer accepted."
)


def parse_json_body(body: bytes, schema: Any = None) -> tuple[Any, dict | None]:
    """Return (model input, params) from a JSON request body."""
    return parse_json_object(load_json(body), schema)


def _orjson_loads() -> Callable[[bytes], Any] | None:
    """orjson's parser when the ``serving`` extra is installed (a speed-up; json is the reference)."""
    try:
        from orjson import loads
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return loads


_fast_loads = _orjson_loads()


def load_json(body: bytes) -> Any:
    if _fast_loads is not None:
        try:
            return _fast_loads(body)
        except ValueError:  # NaN/Infinity literals, huge ints, bad JSON: let json decide and explain
            pass
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise PayloadError(f"Invalid JSON input: {e}")


def is_llm_request(obj: Any) -> bool:
    """True for an OpenAI-style body (``messages``/``prompt``/``input`` and no scoring-protocol key).

    Such a request is passed to the model as it is and answered without the ``predictions`` envelope.
    """
    return (
        isinstance(obj, dict)
        and not any(k in obj for k in INPUT_KEYS)
        and any(k in obj for k in LLM_INPUT_KEYS)
    )


def parse_json_object(obj: Any, schema: Any = None) -> tuple[Any, dict | None]:
    """(model input, params) from a decoded JSON body (the scoring protocol's keys)."""
    if not isinstance(obj, dict):
        raise PayloadError(
            "Invalid input: the request body must be a JSON object, got a "
            f"{type(obj).__name__}. " + _PROTOCOL_HINT.format()
        )
    keys = [k for k in INPUT_KEYS if k in obj]
    if not keys and is_llm_request(obj):
        return dict(obj), None  # an OpenAI-style request: generation fields travel with the messages
    if len(keys) != 1:
        found = f"found {keys}" if keys else f"found keys {sorted(obj)}"
        raise PayloadError(f"Invalid input: {found}. " + _PROTOCOL_HINT.format())
    params = obj.get("params")
    if params is not None and not isinstance(params, dict):
        raise PayloadError("Invalid input: 'params' must be a JSON object.")
    key = keys[0]
    value = obj[key]
    if key == "dataframe_split":
        return _split_frame(value, schema), params
    if key == "dataframe_records":
        return _records_frame(value, schema), params
    return _instances(value, schema), params


def _string_columns(schema: Any) -> set:
    if schema is None or schema.is_tensor_spec or not schema.has_input_names():
        return set()
    return {s.name for s in schema.inputs if s.type in ("string", "binary")}


def _split_frame(value: Any, schema: Any):
    import pandas as pd

    if not isinstance(value, dict) or "data" not in value:
        raise PayloadError(
            "Invalid dataframe_split input: expected an object with 'columns', 'data' and optional 'index'."
        )
    data = value["data"]
    columns = value.get("columns")
    if not isinstance(data, list) or (columns is not None and not isinstance(columns, list)):
        raise PayloadError("Invalid dataframe_split input: 'data' and 'columns' must be lists.")
    try:
        df = pd.DataFrame(data, columns=columns, index=value.get("index"))
    except (ValueError, TypeError, AssertionError) as e:
        raise PayloadError(f"Invalid dataframe_split input: {e}")
    return df


def _records_frame(value: Any, schema: Any):
    import pandas as pd

    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise PayloadError("Invalid dataframe_records input: expected a list of objects (one per row).")
    try:
        return pd.DataFrame.from_records(value)
    except (ValueError, TypeError) as e:
        raise PayloadError(f"Invalid dataframe_records input: {e}")


def _instances(value: Any, schema: Any):
    """``instances``/``inputs``: rows, records or columns, shaped by the signature when present."""
    import numpy as np
    import pandas as pd

    if schema is not None and schema.inputs and schema.is_tensor_spec:
        if isinstance(value, dict):
            return {k: np.asarray(v) for k, v in value.items()}
        return np.asarray(value) if isinstance(value, list) else value
    if isinstance(value, list):
        if value and all(isinstance(r, dict) for r in value):
            return pd.DataFrame.from_records(value)
        if schema is not None and schema.inputs:
            if schema.has_input_names() and value and all(isinstance(r, list) for r in value):
                try:
                    return pd.DataFrame(value, columns=schema.input_names())
                except (ValueError, AssertionError) as e:
                    raise PayloadError(f"Invalid inputs: rows do not match the signature's columns: {e}")
            if len(schema.inputs) == 1 and value and not isinstance(value[0], (list, dict)):
                name = schema.inputs[0].name if schema.has_input_names() else 0
                return pd.DataFrame({name: value})
            return pd.DataFrame(value)
        try:
            arr = np.asarray(value)
        except ValueError as e:
            raise PayloadError(f"Invalid inputs: {e}")
        return arr if arr.dtype != object else value
    if isinstance(value, dict):
        if value and all(isinstance(v, list) for v in value.values()):
            try:
                return pd.DataFrame(value)
            except ValueError as e:
                raise PayloadError(f"Invalid inputs: columns must have equal length ({e}).")
        if schema is not None and schema.inputs:
            return pd.DataFrame([value])
        return value
    return value


def parse_csv_body(body: bytes, schema: Any = None):
    import io

    import pandas as pd

    dtype = {c: str for c in _string_columns(schema)} or None
    try:
        return pd.read_csv(io.BytesIO(body), dtype=dtype)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise PayloadError(f"Invalid CSV input (a header row is required): {e}")


def parse_parquet_body(body: bytes):
    import io

    import pandas as pd

    try:
        return pd.read_parquet(io.BytesIO(body))
    except ImportError as e:
        raise PayloadError(f"Parquet input needs pyarrow installed on the server: {e}")
    except Exception as e:
        raise PayloadError(f"Invalid parquet input: {e}")


def to_jsonable(predictions: Any) -> Any:
    """DataFrame → list of records; Series/ndarray → list; numpy scalars → Python."""
    try:
        import numpy as np
        import pandas as pd
    except ImportError:  # pragma: no cover - numpy/pandas are core deps
        return predictions
    if isinstance(predictions, np.ndarray):
        return predictions.tolist()
    if isinstance(predictions, pd.DataFrame):
        return json.loads(predictions.to_json(orient="records", date_format="iso"))
    if isinstance(predictions, pd.Series):
        return json.loads(predictions.to_json(orient="values", date_format="iso"))
    if isinstance(predictions, dict):
        return {k: to_jsonable(v) for k, v in predictions.items()}
    if isinstance(predictions, (list, tuple)):
        return [to_jsonable(v) for v in predictions]
    if isinstance(predictions, np.generic):
        return predictions.item()
    return predictions


def _default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if isinstance(o, (bytes, bytearray)):
        import base64

        return base64.b64encode(o).decode("ascii")
    return str(o)


def encode_predictions(predictions: Any, unwrapped: bool = False) -> bytes:
    """JSON body of an answer: ``{"predictions": ...}``, or the predictions alone for an OpenAI-style request."""
    if unwrapped:
        return json.dumps(to_jsonable(predictions), default=_default, allow_nan=True).encode()
    return json.dumps({"predictions": to_jsonable(predictions)}, default=_default, allow_nan=True).encode()
