"""What several integrations log the same way: datasets, input examples, signatures, models."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

_log = logging.getLogger("labkeep.autologging")
INPUT_EXAMPLE_ROWS = 5
_DIGEST_ROWS = 10_000


def _head(data: Any, n: int) -> Any:
    if hasattr(data, "iloc"):
        return data.iloc[:n]
    return data[:n]


def _digest(parts: list[Any]) -> str:
    import numpy as np

    h = hashlib.sha256()
    for part in parts:
        if part is None:
            continue
        if hasattr(part, "to_numpy"):
            if hasattr(part, "columns"):
                h.update(",".join(map(str, part.columns)).encode())
            part = part.to_numpy()
        arr = np.asarray(_head(part, _DIGEST_ROWS))
        h.update(str(arr.shape).encode())
        h.update(str(arr.dtype).encode())
        h.update(np.ascontiguousarray(arr).tobytes() if arr.dtype != object else repr(arr.tolist()).encode())
    return h.hexdigest()[:8]


def _schema_json(X: Any, y: Any) -> str | None:
    from labkeep.models.infer import infer_schema

    try:
        out: dict[str, Any] = {"features": infer_schema(_head(X, INPUT_EXAMPLE_ROWS)).to_json()}
        if y is not None:
            out["targets"] = infer_schema(_head(y, INPUT_EXAMPLE_ROWS)).to_json()
    except Exception:
        return None
    key = "mlflow_colspec" if hasattr(X, "columns") else "mlflow_tensorspec"
    return json.dumps({key: out})


def make_dataset(X: Any, y: Any = None, name: str = "dataset") -> Any:
    """A Dataset entity (name, digest, code source, schema, profile) for training data."""
    from labkeep.context import run_context_tags
    from labkeep.entities import Dataset

    tags, _diff = run_context_tags()
    source = json.dumps({"tags": {k: v for k, v in tags.items() if k.startswith("mlflow.")}})
    shape = getattr(X, "shape", None)
    profile: dict[str, Any] = {"features_shape": list(shape) if shape is not None else None}
    if shape is not None and len(shape):
        profile["num_rows"] = int(shape[0])
    if y is not None and getattr(y, "shape", None) is not None:
        profile["targets_shape"] = list(y.shape)
    return Dataset(
        name=name,
        digest=_digest([X, y]),
        source_type="code",
        source=source,
        schema=_schema_json(X, y),
        profile=json.dumps(profile),
    )


def log_dataset(X: Any, y: Any = None, context: str = "train", run_id: str | None = None) -> Any:
    """Record ``X``/``y`` as an input of the run; returns the Dataset (None when it failed)."""
    from labkeep import fluent
    from labkeep.entities import DatasetInput, InputTag

    try:
        dataset = make_dataset(X, y)
        run = run_id
        if not run:
            active = fluent.active_run()
            if active is None:
                raise RuntimeError("no active run and no run_id given")
            run = active.info.run_id
        fluent._client().log_inputs(run, [DatasetInput(dataset, [InputTag("mlflow.data.context", context)])])
        return dataset
    except Exception as e:
        _log.warning("labkeep autologging: could not log the %s dataset: %s", context, e)
        return None


def example_and_signature(
    conf: dict[str, Any], X: Any, predict: Callable[[Any], Any] | None
) -> tuple[Any, Any]:
    """The input example (first rows) and the signature, as ``log_input_examples`` and
    ``log_model_signatures`` ask; either is None when off or when it could not be made."""
    from labkeep.models.infer import infer_signature

    example = signature = None
    try:
        head = _head(X, INPUT_EXAMPLE_ROWS)
    except Exception:
        return None, None
    if conf.get("log_input_examples"):
        example = head
    if conf.get("log_model_signatures"):
        try:
            signature = infer_signature(head, predict(head) if predict is not None else None)
        except Exception as e:
            _log.warning("labkeep autologging: could not infer the model signature: %s", e)
    return example, signature


def metric_dict(values: dict[str, Any]) -> dict[str, float]:
    """Only the finite numbers of ``values``, as floats."""
    import math

    out = {}
    for key, value in values.items():
        try:
            f = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isnan(f):
            out[key] = f
    return out
