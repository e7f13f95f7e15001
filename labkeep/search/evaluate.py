"""Evaluate parsed filters and order_by in memory, with the same semantics as ``to_sql``.

Entities are first turned into ``Record``s (attributes, latest metrics, params, tags, datasets);
``search_records`` then filters and orders them. Used by non-SQL callers and by tests to
cross-check the SQL builders.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkeep.search import grammars as g
from labkeep.search.parser import (
    Clause,
    OrderKey,
    numeric_compare,
    parse_filter,
    parse_logged_model_order_by,
    parse_order_by,
    resolve_order,
    with_implicit_clauses,
)

_FLOAT_MAX = 1.7976931348623157e308


@dataclass
class MetricPoint:
    key: str
    value: float
    step: int = 0
    timestamp: int = 0
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass
class Record:
    """A searchable row: canonical attribute keys plus key/value collections."""

    id: Any
    attributes: dict[str, Any] = field(default_factory=dict)
    metrics: list[MetricPoint] = field(default_factory=list)  # every point, or only latest ones
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    datasets: list[dict[str, str | None]] = field(default_factory=list)  # name, digest, context


# ---------------------------------------------------------------- entity adapters
def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _kv(obj: Any) -> dict[str, str]:
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    return {_get(t, "key"): _get(t, "value") for t in obj}


def record_from_run(run: Any) -> Record:
    info, data = run.info, run.data
    datasets = []
    for di in getattr(getattr(run, "inputs", None), "dataset_inputs", []) or []:
        tags = {t.key: t.value for t in di.tags}
        datasets.append(
            {"name": di.dataset.name, "digest": di.dataset.digest, "context": tags.get("mlflow.data.context")}
        )
    return Record(
        id=info.run_id,
        attributes={
            "run_id": info.run_id,
            "run_name": info.run_name,
            "status": info.status,
            "user_id": info.user_id,
            "artifact_uri": info.artifact_uri,
            "start_time": info.start_time,
            "end_time": info.end_time,
        },
        metrics=[MetricPoint(m.key, m.value, m.step, m.timestamp) for m in data.metric_objs],
        params=dict(data.params),
        tags=dict(data.tags),
        datasets=datasets,
    )


def record_from_experiment(exp: Any) -> Record:
    return Record(
        id=exp.experiment_id,
        attributes={
            "name": exp.name,
            "experiment_id": int(exp.experiment_id),
            "creation_time": exp.creation_time,
            "last_update_time": exp.last_update_time,
        },
        tags=_kv(exp.tags),
    )


def record_from_registered_model(model: Any) -> Record:
    return Record(
        id=_get(model, "name"),
        attributes={
            "name": _get(model, "name"),
            "last_updated_timestamp": _get(model, "last_updated_timestamp"),
        },
        tags=_kv(_get(model, "tags")),
    )


def record_from_model_version(mv: Any) -> Record:
    name, version = _get(mv, "name"), int(_get(mv, "version"))
    return Record(
        id=(name, version),
        attributes={
            "name": name,
            "run_id": _get(mv, "run_id"),
            "source_path": _get(mv, "source"),
            "version_number": version,
            "creation_timestamp": _get(mv, "creation_timestamp"),
            "last_updated_timestamp": _get(mv, "last_updated_timestamp"),
        },
        tags=_kv(_get(mv, "tags")),
    )


def record_from_logged_model(model: Any) -> Record:
    from labkeep.entities.enums import LoggedModelStatus

    return Record(
        id=model.model_id,
        attributes={
            "name": model.name,
            "model_id": model.model_id,
            "model_type": model.model_type,
            "source_run_id": model.source_run_id,
            "creation_timestamp": model.creation_timestamp,
            "last_updated_timestamp": model.last_updated_timestamp,
            "status": LoggedModelStatus.to_int(model.status),
        },
        metrics=[
            MetricPoint(m.key, m.value, m.step, m.timestamp, m.dataset_name, m.dataset_digest)
            for m in model.metrics
        ],
        params=dict(model.params),
        tags=dict(model.tags),
    )


# ---------------------------------------------------------------- matching
def _stand_in(value: float) -> float:
    """The value the SQL store keeps for ordering ties (0 for NaN, +/-max for infinities)."""
    if math.isnan(value):
        return 0.0
    if math.isinf(value):
        return _FLOAT_MAX if value > 0 else -_FLOAT_MAX
    return value


def _latest(points: Iterable[MetricPoint]) -> MetricPoint | None:
    best = None
    for p in points:
        if best is None or (p.step, p.timestamp, _stand_in(p.value)) > (
            best.step,
            best.timestamp,
            _stand_in(best.value),
        ):
            best = p
    return best


def latest_metric(
    record: Record, key: str, datasets: list[tuple[str, str | None]] | None = None
) -> list[float]:
    """Latest value(s) of ``key``: one overall, or one per (dataset_name, digest) group on ``datasets``."""
    points = [p for p in record.metrics if p.key == key]
    if not datasets:
        best = _latest(points)
        return [] if best is None else [best.value]
    groups: dict[tuple[Any, Any], list[MetricPoint]] = {}
    for p in points:
        if any(p.dataset_name == n and (d is None or p.dataset_digest == d) for n, d in datasets):
            groups.setdefault((p.dataset_name, p.dataset_digest), []).append(p)
    # every group holds at least one point, so each has a latest one
    return [best.value for ps in groups.values() if (best := _latest(ps)) is not None]


@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def string_matches(value: Any, comparator: str, target: Any) -> bool:
    """SQL string comparison; a missing (None) value never matches."""
    if value is None:
        return False
    if comparator == "=":
        return value == target
    if comparator == "!=":
        return value != target
    if comparator == "LIKE":
        return _like_regex(target, False).fullmatch(value) is not None
    if comparator == "ILIKE":
        return _like_regex(target.lower(), False).fullmatch(value.lower()) is not None
    if comparator == "IN":
        return value in target
    if comparator == "NOT IN":
        return value not in target
    if comparator in ("<", "<=", ">", ">="):
        return numeric_compare(value, comparator, target)
    raise ValueError(comparator)


def clause_matches(record: Record, c: Clause, api: str, datasets=None) -> bool:
    """Whether ``record`` satisfies one clause under the SQL semantics of ``api``."""
    if c.entity == g.METRIC:
        values = latest_metric(record, c.key, datasets if api == "logged_models" else None)
        return any(numeric_compare(float(v), c.comparator, float(c.value)) for v in values)
    if c.entity in (g.PARAM, g.TAG):
        source = record.params if c.entity == g.PARAM else record.tags
        value = source.get(c.key)
        if c.entity == g.TAG and c.key == g.PROMPT_TAG and api in ("registered_models", "model_versions"):
            value = "false" if value is None else value
        if c.comparator == "IS NULL":
            return value is None
        if c.comparator == "IS NOT NULL":
            return value is not None
        return string_matches(value, c.comparator, c.value)
    if c.entity == g.DATASET:
        return any(string_matches(d.get(c.key), c.comparator, c.value) for d in record.datasets)
    value = record.attributes.get(c.key)
    if value is None:
        return False
    if isinstance(c.value, (int, float)) and c.comparator in ("<", "<=", ">", ">=", "=", "!="):
        return numeric_compare(float(value), c.comparator, float(c.value))
    return string_matches(value, c.comparator, c.value)


def record_matches(record: Record, clauses: list[Clause], api: str, datasets=None) -> bool:
    if api == "logged_models" and datasets and not any(c.entity == g.METRIC for c in clauses):
        if not any(
            p.dataset_name == n and (d is None or p.dataset_digest == d)
            for p in record.metrics
            for n, d in datasets
        ):
            return False
    return all(clause_matches(record, c, api, datasets) for c in clauses)


# ---------------------------------------------------------------- ordering
def _sort_value(record: Record, k: OrderKey, api: str) -> tuple[int, Any]:
    """(bucket, value): bucket 0 = present, 1 = NaN metric, 2 = missing."""
    if k.entity == g.METRIC:
        ds = [(k.dataset_name, k.dataset_digest)] if k.dataset_name is not None else None
        points = [p for p in record.metrics if p.key == k.key]
        if ds:
            points = [
                p
                for p in points
                if p.dataset_name == ds[0][0] and (ds[0][1] is None or p.dataset_digest == ds[0][1])
            ]
        best = _latest(points)
        if best is None:
            return (2, None)
        if math.isnan(best.value):
            return (1, 0.0)
        return (0, _stand_in(best.value))
    if k.entity == g.PARAM:
        v = record.params.get(k.key)
    elif k.entity == g.TAG:
        v = record.tags.get(k.key)
    else:
        v = record.attributes.get(k.key)
    return (2, None) if v is None else (0, v)


def _compare(a: Record, b: Record, keys: list[OrderKey], api: str) -> int:
    for k in keys:
        (ba, va), (bb, vb) = _sort_value(a, k, api), _sort_value(b, k, api)
        if ba != bb:
            return -1 if ba < bb else 1
        if va is None or va == vb:
            continue
        less = va < vb
        return (-1 if less else 1) if k.ascending else (1 if less else -1)
    return 0


def sort_records(records: Iterable[Record], keys: list[OrderKey], api: str) -> list[Record]:
    def cmp(a: Record, b: Record) -> int:
        return _compare(a, b, keys, api)

    return sorted(records, key=functools.cmp_to_key(cmp))


def search_records(
    api: str,
    records: Iterable[Record],
    filter_string: str | None = None,
    order_by: list[Any] | None = None,
    datasets: list[Mapping[str, Any]] | None = None,
) -> list[Record]:
    """Filter and order ``records`` exactly as the SQL search for ``api`` would (no paging)."""
    from labkeep.search.to_sql import normalize_datasets

    grammar = g.GRAMMARS[api]
    clauses = with_implicit_clauses(api, parse_filter(filter_string, grammar))
    if api == "logged_models":
        keys = resolve_order(api, parse_logged_model_order_by(order_by))
    else:
        keys = resolve_order(api, parse_order_by(order_by, grammar))
    ds = normalize_datasets(datasets) if api == "logged_models" else None
    matched = [r for r in records if record_matches(r, clauses, api, ds)]
    return sort_records(matched, keys, api)
