"""What each search API accepts: entities, fields, value types, comparators, order_by keys.

One ``Grammar`` per API (``RUNS``, ``EXPERIMENTS``, ``REGISTERED_MODELS``, ``MODEL_VERSIONS``,
``LOGGED_MODELS``), mirroring the tables of the search-grammar spec. The parser validates
against these; ``to_sql`` and ``evaluate`` map the canonical (entity, key) pairs they produce.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Canonical entity names.
METRIC = "metric"
PARAM = "param"
TAG = "tag"
ATTRIBUTE = "attribute"
DATASET = "dataset"

# Value kinds.
NUMBER = "number"  # unquoted number
STRING = "string"  # quoted string
INT_STRING = "int_string"  # quoted string holding an integer (experiment_id)
VERSION = "version"  # integer, unquoted or quoted (version_number)
STATUS = "status"  # logged model status: enum number or quoted name

NUMERIC_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE"})
LIST_OPS = frozenset({"IN", "NOT IN"})
NULL_OPS = frozenset({"IS NULL", "IS NOT NULL"})

PROMPT_TAG = "mlflow.prompt.is_prompt"


@dataclass(frozen=True)
class Field:
    kind: str
    comparators: frozenset[str]


@dataclass(frozen=True)
class Grammar:
    """The filter and order_by language of one search API."""

    api: str
    entities: dict[str, str]  # spelling (as written, case-sensitive) -> canonical entity
    # canonical entity -> Field for any key, or {canonical key: Field} for a fixed key set
    fields: dict[str, Field | dict[str, Field]]
    attribute_aliases: dict[str, str] = field(default_factory=dict)  # alias -> canonical key
    order_entities: frozenset[str] = frozenset({ATTRIBUTE})
    order_attributes: dict[str, str] = field(default_factory=dict)  # spelling -> canonical key
    three_token_clauses: bool = False  # logged models: no IS NULL / IS NOT NULL

    def list_keys(self) -> list[str]:
        """Attribute/dataset keys that accept IN lists (for error messages)."""
        out = []
        for entity, spec in self.fields.items():
            if isinstance(spec, dict):
                prefix = "" if entity == ATTRIBUTE else f"{entity}s."
                out += [prefix + k for k, f in spec.items() if "IN" in f.comparators]
        return out


def _f(kind: str, *ops: Iterable[str]) -> Field:
    return Field(kind, frozenset().union(*ops))


_RUN_NAME_ALIASES = {"run name": "run_name", "Run name": "run_name", "Run Name": "run_name"}
_CREATED_ALIASES = {"created": "start_time", "Created": "start_time"}

RUNS = Grammar(
    api="runs",
    entities={
        **dict.fromkeys(("metrics", "metric"), METRIC),
        **dict.fromkeys(("params", "param", "parameters", "parameter"), PARAM),
        **dict.fromkeys(("tags", "tag"), TAG),
        **dict.fromkeys(("attributes", "attribute", "attr", "run"), ATTRIBUTE),
        **dict.fromkeys(("datasets", "dataset"), DATASET),
    },
    fields={
        METRIC: _f(NUMBER, NUMERIC_OPS),
        PARAM: _f(STRING, STRING_OPS, NULL_OPS),
        TAG: _f(STRING, STRING_OPS, NULL_OPS),
        ATTRIBUTE: {
            "run_id": _f(STRING, STRING_OPS, LIST_OPS),
            "run_name": _f(STRING, STRING_OPS),
            "status": _f(STRING, STRING_OPS),
            "user_id": _f(STRING, STRING_OPS),
            "artifact_uri": _f(STRING, STRING_OPS),
            "start_time": _f(NUMBER, NUMERIC_OPS),
            "end_time": _f(NUMBER, NUMERIC_OPS),
        },
        DATASET: {
            "name": _f(STRING, STRING_OPS, LIST_OPS),
            "digest": _f(STRING, STRING_OPS, LIST_OPS),
            "context": _f(STRING, STRING_OPS, LIST_OPS),
        },
    },
    attribute_aliases={**_RUN_NAME_ALIASES, **_CREATED_ALIASES},
    order_entities=frozenset({METRIC, PARAM, TAG, ATTRIBUTE}),
    order_attributes={
        **{
            k: k
            for k in ("start_time", "end_time", "run_id", "run_name", "status", "user_id", "artifact_uri")
        },
        **_RUN_NAME_ALIASES,
        **_CREATED_ALIASES,
    },
)

EXPERIMENTS = Grammar(
    api="experiments",
    entities={"attribute": ATTRIBUTE, "tag": TAG, "tags": TAG},
    fields={
        TAG: _f(STRING, STRING_OPS, NULL_OPS),
        ATTRIBUTE: {
            "name": _f(STRING, STRING_OPS),
            "experiment_id": _f(INT_STRING, {"=", "!="}, LIST_OPS),
            "creation_time": _f(NUMBER, NUMERIC_OPS),
            "last_update_time": _f(NUMBER, NUMERIC_OPS),
        },
    },
    order_attributes={k: k for k in ("name", "experiment_id", "creation_time", "last_update_time")},
)

REGISTERED_MODELS = Grammar(
    api="registered_models",
    entities={"attribute": ATTRIBUTE, "tag": TAG, "tags": TAG},
    fields={
        TAG: _f(STRING, STRING_OPS),
        ATTRIBUTE: {"name": _f(STRING, STRING_OPS, LIST_OPS)},
    },
    order_attributes={
        "name": "name",
        "timestamp": "last_updated_timestamp",
        "last_updated_timestamp": "last_updated_timestamp",
    },
)

MODEL_VERSIONS = Grammar(
    api="model_versions",
    entities={"attribute": ATTRIBUTE, "tag": TAG, "tags": TAG},
    fields={
        TAG: _f(STRING, STRING_OPS),
        ATTRIBUTE: {
            "name": _f(STRING, STRING_OPS, LIST_OPS),
            "run_id": _f(STRING, STRING_OPS, LIST_OPS),
            "source_path": _f(STRING, STRING_OPS),
            "version_number": _f(VERSION, NUMERIC_OPS),
        },
    },
    order_attributes={
        k: k for k in ("name", "version_number", "creation_timestamp", "last_updated_timestamp")
    },
)

_LM_STRING = _f(STRING, STRING_OPS, LIST_OPS)
LOGGED_MODELS = Grammar(
    api="logged_models",
    entities={"attributes": ATTRIBUTE, "metrics": METRIC, "params": PARAM, "tags": TAG},
    fields={
        METRIC: _f(NUMBER, NUMERIC_OPS),
        PARAM: _LM_STRING,
        TAG: _LM_STRING,
        ATTRIBUTE: {
            "name": _LM_STRING,
            "model_id": _LM_STRING,
            "model_type": _LM_STRING,
            "source_run_id": _LM_STRING,
            "creation_timestamp": _f(NUMBER, NUMERIC_OPS),
            "last_updated_timestamp": _f(NUMBER, NUMERIC_OPS),
            "status": _f(STATUS, {"=", "!="}, LIST_OPS),
        },
    },
    attribute_aliases={"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"},
    order_entities=frozenset({ATTRIBUTE, METRIC}),
    order_attributes={
        **{k: k for k in ("name", "model_id", "model_type", "status", "source_run_id")},
        "creation_timestamp": "creation_timestamp",
        "creation_time": "creation_timestamp",
        "last_updated_timestamp": "last_updated_timestamp",
        "last_updated_time": "last_updated_timestamp",
    },
    three_token_clauses=True,
)

GRAMMARS: dict[str, Grammar] = {
    g.api: g for g in (RUNS, EXPERIMENTS, REGISTERED_MODELS, MODEL_VERSIONS, LOGGED_MODELS)
}
