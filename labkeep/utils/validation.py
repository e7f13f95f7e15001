"""Validation of names, keys and values against the limits of the compatibility spec."""

from __future__ import annotations

import math
import posixpath
import re
from numbers import Number
from typing import Any

from labkeep import config
from labkeep.exceptions import InvalidParameterValue

MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_VAL_LENGTH = 20000
MAX_ARTIFACT_LOCATION_LENGTH = 2048
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_BATCH_ENTITIES = 1000
MAX_RUN_NAME_LENGTH = 500
MAX_DATASET_NAME_LENGTH = 500
MAX_DATASET_DIGEST_LENGTH = 36

_KEY_RE = re.compile(r"^[/\w.\- :]*$")
_RUN_ID_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")


def truncate_long_values() -> bool:
    return config.TRUNCATE_LONG_VALUES.flag()


def validate_key(key: Any, what: str = "key") -> str:
    """A metric/param/tag key: allowed characters, ≤ 250 chars, a normalized relative path."""
    if type(key) is str and (key, what) in _VALID_KEYS:
        return key
    if not isinstance(key, str) or key == "":
        raise InvalidParameterValue(f"Invalid {what} {key!r}: a non-empty string is required.")
    if len(key) > MAX_ENTITY_KEY_LENGTH:
        raise InvalidParameterValue(
            f"{what.capitalize()} '{key[:40]}…' is {len(key)} characters long; the limit is {MAX_ENTITY_KEY_LENGTH}."
        )
    if not _KEY_RE.match(key):
        raise InvalidParameterValue(
            f"Invalid {what} {key!r}: names may only contain letters, digits, underscores (_), dashes (-),"
            " periods (.), spaces ( ), colons (:) and slashes (/)."
        )
    if key.startswith("/") or posixpath.normpath(key) != key or key == "." or ".." in key.split("/"):
        raise InvalidParameterValue(
            f"Invalid {what} {key!r}: it must be a normalized relative path (no leading '/', no '..', no '//')."
        )
    if len(_VALID_KEYS) < 100_000:
        _VALID_KEYS.add((key, what))
    return key


_VALID_KEYS: set[tuple[str, str]] = set()


def validate_param_value(key: str, value: Any) -> str:
    value = "" if value is None else str(value)
    if len(value) > MAX_PARAM_VAL_LENGTH:
        if truncate_long_values():
            return value[:MAX_PARAM_VAL_LENGTH]
        raise InvalidParameterValue(
            f"Param '{key}' value is {len(value)} characters long; the limit is {MAX_PARAM_VAL_LENGTH}."
        )
    return value


def validate_tag_value(key: str, value: Any, limit: int = MAX_TAG_VAL_LENGTH, truncate: bool = True) -> str:
    value = "" if value is None else str(value)
    if len(value) > limit:
        if truncate and truncate_long_values():
            return value[:limit]
        raise InvalidParameterValue(
            f"Tag '{key}' value is {len(value)} characters long; the limit is {limit}."
        )
    return value


def is_number(value: object) -> bool:
    """True for numbers (numpy's and Decimal included), False for booleans and everything else.

    Deliberately not a type guard: ``numbers.Number`` declares no arithmetic, so callers keep
    the value as ``Any`` and convert it with ``float``/``int`` themselves.
    """
    return not isinstance(value, bool) and isinstance(value, Number)


def validate_metric(key: str, value: Any, timestamp: Any, step: Any) -> tuple[float, int, int]:
    validate_key(key, "metric name")
    # Fast path for the common plain types; everything else goes through the full checks.
    if type(value) in (float, int) and type(timestamp) is int and timestamp >= 0 and type(step) is int:
        return float(value), timestamp, step
    if not is_number(value):
        raise InvalidParameterValue(
            f"Got invalid value {value!r} for metric '{key}' (timestamp={timestamp}). "
            "Please specify value as a valid double (64-bit floating point)."
        )
    if not is_number(timestamp) or timestamp < 0:
        raise InvalidParameterValue(
            f"Got invalid timestamp {timestamp!r} for metric '{key}'. Timestamp must be a non-negative integer (ms)."
        )
    if step is None:
        step = 0
    if not is_number(step) or int(step) != step:
        raise InvalidParameterValue(f"Got invalid step {step!r} for metric '{key}'. Step must be an integer.")
    return float(value), int(timestamp), int(step)


def validate_experiment_name(name: Any) -> str:
    if not isinstance(name, str):
        raise InvalidParameterValue(f"Invalid experiment name {name!r}: expected a string.")
    if name.strip() == "":
        raise InvalidParameterValue("Invalid experiment name: it must not be empty.")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise InvalidParameterValue(
            f"Experiment name is {len(name)} characters long; the limit is {MAX_EXPERIMENT_NAME_LENGTH}."
        )
    return name


def validate_experiment_id(experiment_id: Any) -> int:
    try:
        value = int(str(experiment_id))
    except (TypeError, ValueError):
        raise InvalidParameterValue(
            f"Invalid experiment ID {experiment_id!r}: it must be an integer."
        ) from None
    if value < 0:
        raise InvalidParameterValue(f"Invalid experiment ID {experiment_id!r}: it must not be negative.")
    return value


def validate_run_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise InvalidParameterValue(f"Invalid run ID {run_id!r}.")
    return run_id


def validate_batch_sizes(n_metrics: int, n_params: int, n_tags: int) -> None:
    if n_metrics > MAX_BATCH_METRICS:
        raise InvalidParameterValue(
            f"A batch logging request can contain at most {MAX_BATCH_METRICS} metrics; got {n_metrics}."
        )
    if n_params > MAX_BATCH_PARAMS:
        raise InvalidParameterValue(
            f"A batch logging request can contain at most {MAX_BATCH_PARAMS} params; got {n_params}."
        )
    if n_tags > MAX_BATCH_TAGS:
        raise InvalidParameterValue(
            f"A batch logging request can contain at most {MAX_BATCH_TAGS} tags; got {n_tags}."
        )
    total = n_metrics + n_params + n_tags
    if total > MAX_BATCH_ENTITIES:
        raise InvalidParameterValue(
            f"A batch logging request can contain at most {MAX_BATCH_ENTITIES} metrics, params and tags in total; got {total}."
        )


def validate_artifact_location(location: str | None) -> None:
    if location is not None and len(location) > MAX_ARTIFACT_LOCATION_LENGTH:
        raise InvalidParameterValue(
            f"Artifact location is {len(location)} characters long; the limit is {MAX_ARTIFACT_LOCATION_LENGTH}."
        )


def encode_metric_value(value: float) -> tuple[float, int]:
    """(sortable stand-in, kind) for storage: kind 0 finite, 1 NaN, 2 +inf, 3 -inf."""
    if math.isnan(value):
        return 0.0, 1
    if math.isinf(value):
        return (1.7976931348623157e308, 2) if value > 0 else (-1.7976931348623157e308, 3)
    return value, 0


def decode_metric_value(value: float, kind: int) -> float:
    if kind == 0:
        return value
    return (math.nan, math.inf, -math.inf)[kind - 1]
