"""Input examples: input_example.json + serving_input_example.json (docs/reference/formats.md, signatures and input examples)."""

from __future__ import annotations

import json
import os
from typing import Any

from labkeep.exceptions import InvalidParameterValue

INPUT_EXAMPLE_FILE = "input_example.json"
SERVING_INPUT_FILE = "serving_input_example.json"


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if isinstance(o, (bytes, bytearray)):
        import base64

        return base64.b64encode(o).decode("ascii")
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def dumps(obj: Any, **kw: Any) -> str:
    return json.dumps(obj, default=_json_default, **kw)


def split_example(input_example: Any) -> tuple[Any, dict | None]:
    """Separate ``(data, params)`` tuples into data and params."""
    if isinstance(input_example, tuple) and len(input_example) == 2 and isinstance(input_example[1], dict):
        return input_example[0], input_example[1]
    return input_example, None


def encode_example(data: Any) -> tuple[Any, dict[str, Any], str]:
    """Return (input_example.json payload, serving body without params, info type)."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, pd.DataFrame):
        split = json.loads(data.to_json(orient="split", index=False, date_format="iso", default_handler=str))
        payload = {"columns": split["columns"], "data": split["data"]}
        return payload, {"dataframe_split": payload}, "dataframe"
    if isinstance(data, np.ndarray):
        payload = json.loads(dumps(data.tolist()))
        return payload, {"inputs": payload}, "ndarray"
    if isinstance(data, dict) and data and all(isinstance(v, np.ndarray) for v in data.values()):
        payload = {k: json.loads(dumps(v.tolist())) for k, v in data.items()}
        return payload, {"inputs": payload}, "ndarray"
    if isinstance(data, (dict, list, str, int, float, bool)):
        payload = json.loads(dumps(data))
        if isinstance(data, dict) and "messages" in data:  # chat-style examples are served unwrapped
            return payload, dict(payload), "json_object"
        return payload, {"inputs": payload}, "json_object"
    raise InvalidParameterValue(
        f"Unsupported input_example type {type(data).__name__}: use a pandas DataFrame, numpy array, dict or list."
    )


def save_input_example(model_dir: str, input_example: Any) -> dict[str, Any]:
    """Write both example files and return the ``saved_input_example_info`` for MLmodel."""
    data, params = split_example(input_example)
    payload, serving, kind = encode_example(data)
    stored: Any = payload
    info: dict[str, Any] = {
        "artifact_path": INPUT_EXAMPLE_FILE,
        "serving_input_path": SERVING_INPUT_FILE,
        "type": kind,
    }
    if kind == "dataframe":
        info["pandas_orient"] = "split"
    if params:
        stored = {"inputs": payload, "params": json.loads(dumps(params))}
        serving = {**serving, "params": stored["params"]}
        info["params"] = "true"
    with open(os.path.join(model_dir, INPUT_EXAMPLE_FILE), "w", encoding="utf-8") as f:
        f.write(dumps(stored))
    with open(os.path.join(model_dir, SERVING_INPUT_FILE), "w", encoding="utf-8") as f:
        f.write(dumps(serving, indent=2))
    return info


def load_input_example(model_dir: str, info: dict[str, Any] | None) -> Any:
    """Rebuild the stored example (DataFrame / ndarray / JSON); None when the model has none."""
    if not info:
        return None
    from labkeep.models.mlmodel import safe_join

    path = safe_join(model_dir, info.get("artifact_path", INPUT_EXAMPLE_FILE))
    with open(path, encoding="utf-8") as f:
        stored = json.load(f)
    if info.get("params") == "true" and isinstance(stored, dict) and "inputs" in stored:
        stored = stored["inputs"]
    kind = info.get("type")
    if kind == "dataframe":
        import pandas as pd

        return pd.DataFrame(stored["data"], columns=stored["columns"])
    if kind == "ndarray":
        import numpy as np

        if isinstance(stored, dict):
            return {k: np.asarray(v) for k, v in stored.items()}
        return np.asarray(stored)
    return stored


def load_input_example_params(model_dir: str, info: dict[str, Any] | None) -> dict | None:
    if not info or info.get("params") != "true":
        return None
    from labkeep.models.mlmodel import safe_join

    with open(safe_join(model_dir, info.get("artifact_path", INPUT_EXAMPLE_FILE)), encoding="utf-8") as f:
        return json.load(f).get("params")
