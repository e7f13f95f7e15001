"""Serving fast path: numeric row payloads go straight to a float array, skipping pandas.

Used only when it gives exactly what the general path gives: the model's signature has named,
required, numeric columns; the payload lists those columns in signature order; the values are
all numbers (no JSON booleans, strings or nulls in integer columns); and the model accepts a
plain array in feature order (see ``labkeep.sklearn._accepts_plain_arrays``). Anything else
returns None and the request takes the general path, which also produces the precise errors.
"""

from __future__ import annotations

import re
from typing import Any

_NUMERIC = {"double", "float", "long", "integer"}
# JSON literals an all-number payload cannot contain (one pass over the body)
_NON_NUMBER = re.compile(rb"true|false|null")


class FastPath:
    def __init__(self, model: Any) -> None:
        self.enabled = False
        schema = getattr(model, "input_schema", None)
        impl = getattr(model, "_model_impl", None)
        if schema is None or not schema.inputs or schema.is_tensor_spec or not schema.has_input_names():
            return
        if impl is None or not getattr(impl, "takes_arrays", False) or not hasattr(impl, "predict_array"):
            return
        if model.metadata.get_params_schema() is not None:
            return
        specs = schema.inputs
        if any(isinstance(s.type, dict) or s.type not in _NUMERIC or not s.required for s in specs):
            return
        self.names = schema.input_names()
        if impl.feature_names is not None and impl.feature_names != self.names:
            return
        self.int_cols = [i for i, s in enumerate(specs) if s.type in ("long", "integer")]
        self.predict_array = impl.predict_array
        self.enabled = True

    def rows_of(self, obj: dict) -> list | None:
        """The row list when ``obj`` is a row-shaped payload in signature column order."""
        if len(obj) != 1:
            return None
        split = obj.get("dataframe_split")
        if isinstance(split, dict):
            if split.get("columns") != self.names or not isinstance(split.get("data"), list):
                return None
            return split["data"]
        rows = obj.get("inputs", obj.get("instances"))
        if isinstance(rows, list) and rows and isinstance(rows[0], list):
            return rows
        return None

    def predict(self, obj: dict, body: bytes) -> Any | None:
        """Predictions, or None when the general path must handle this request."""
        rows = self.rows_of(obj)
        if rows is None or _NON_NUMBER.search(body):
            return None
        import numpy as np

        try:
            arr = np.array(rows, dtype=np.float64)
        except (ValueError, TypeError):
            return None
        if arr.ndim != 2 or arr.shape[1] != len(self.names) or arr.shape[0] == 0:
            return None
        if self.int_cols:
            sub = arr[:, self.int_cols]
            if not np.isfinite(sub).all() or (sub != np.floor(sub)).any():
                return None
        return self.predict_array(arr)
