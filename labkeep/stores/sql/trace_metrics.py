"""Aggregates over an experiment's traces (``traces/metrics``): counts, latency and token usage.

One query reads the traces of the experiments in the time range (with their name tag and token
usage metadata); grouping by the requested dimensions (``trace_status``, ``trace_name``, and a
``time_bucket`` when an interval is given) and the aggregations (COUNT, SUM, AVG, MIN, MAX,
PERCENTILE) run in Python, which keeps the SQL portable across SQLite, PostgreSQL and MySQL.
Only the TRACES view is implemented; SPANS and ASSESSMENTS answer a typed error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.genai.tracing.entities import TOKEN_USAGE_METADATA, TRACE_NAME_TAG
from labkeep.genai.tracing.ui_data import json_number
from labkeep.stores.sql.db import Database
from labkeep.stores.sql.db import placeholders as _marks

TRACE_COUNT = "trace_count"
LATENCY = "latency"
TOKEN_KEYS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)
METRICS = (TRACE_COUNT, LATENCY, *TOKEN_KEYS)
DIMENSIONS = ("trace_status", "trace_name")
TIME_BUCKET = "time_bucket"
AGGREGATIONS = ("COUNT", "SUM", "AVG", "PERCENTILE", "MIN", "MAX")
MAX_EXPERIMENTS = 100


@dataclass(frozen=True)
class Aggregation:
    kind: str
    percentile: float | None = None

    @property
    def label(self) -> str:
        return f"P{self.percentile}" if self.kind == "PERCENTILE" else self.kind


def parse_aggregation(raw: Any) -> Aggregation:
    """``{"aggregation_type": "PERCENTILE", "percentile_value": 95}`` -> ``Aggregation``."""
    if not isinstance(raw, dict):
        raise InvalidParameterValue(
            f"Invalid aggregation {raw!r}: expected an object with 'aggregation_type'."
        )
    kind = raw.get("aggregation_type")
    if kind not in AGGREGATIONS:
        raise InvalidParameterValue(
            f"Invalid aggregation_type {kind!r}; use one of {', '.join(AGGREGATIONS)}."
        )
    pct = raw.get("percentile_value")
    if kind == "PERCENTILE":
        if not isinstance(pct, int | float) or isinstance(pct, bool) or not 0 <= pct <= 100:
            raise InvalidParameterValue(f"Percentile value must be between 0 and 100, got {pct!r}.")
        return Aggregation(kind, float(pct))
    if pct is not None:
        raise InvalidParameterValue(
            f"percentile_value is only allowed for PERCENTILE aggregation, got {kind}."
        )
    return Aggregation(kind)


def _percentile(values: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (what SQL's percentile_cont computes)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * pct / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _aggregate(agg: Aggregation, values: list[float]) -> float | None:
    if agg.kind == "COUNT":
        return float(len(values))
    if not values:
        return None
    if agg.kind == "SUM":
        return float(sum(values))
    if agg.kind == "AVG":
        return sum(values) / len(values)
    if agg.kind == "MIN":
        return float(min(values))
    if agg.kind == "MAX":
        return float(max(values))
    return _percentile(values, agg.percentile or 0.0)


def query_trace_metrics(
    db: Database,
    experiment_ids: Sequence[str],
    view_type: str,
    metric_name: str,
    aggregations: Sequence[Aggregation],
    dimensions: Sequence[str] = (),
    time_interval_seconds: int | None = None,
    start_time_ms: int | None = None,
    end_time_ms: int | None = None,
) -> list[dict[str, Any]]:
    """Data points ``{"metric_name", "dimensions", "values"}``, ordered by their dimension values."""
    if view_type != "TRACES":
        raise LabkeepException(
            f"Trace metrics of the {view_type} view are not supported by this server (only TRACES).",
            error_code="NOT_IMPLEMENTED",
        )
    if metric_name not in METRICS:
        raise InvalidParameterValue(f"Unknown trace metric {metric_name!r}; use one of {', '.join(METRICS)}.")
    if not aggregations:
        raise InvalidParameterValue("At least one aggregation is required.")
    if metric_name == TRACE_COUNT and any(a.kind != "COUNT" for a in aggregations):
        raise InvalidParameterValue("trace_count supports only the COUNT aggregation.")
    for d in dimensions:
        if d not in DIMENSIONS:
            raise InvalidParameterValue(
                f"Unknown dimension {d!r} for TRACES; use one of {', '.join(DIMENSIONS)}."
            )
    if time_interval_seconds is not None and time_interval_seconds <= 0:
        raise InvalidParameterValue(f"time_interval_seconds must be positive, got {time_interval_seconds}.")
    ids = [int(e) for e in experiment_ids if str(e).isdigit()]
    if len(ids) != len(experiment_ids) or not ids:
        raise InvalidParameterValue(
            f"Invalid experiment_ids {list(experiment_ids)!r}: integer ids are required."
        )
    if len(ids) > MAX_EXPERIMENTS:
        raise InvalidParameterValue(f"At most {MAX_EXPERIMENTS} experiment_ids per query, got {len(ids)}.")
    sql = (
        "SELECT t.state, t.request_time, t.execution_duration, n.value, u.value FROM traces t"
        " LEFT JOIN trace_tags n ON n.trace_id = t.trace_id AND n.name = ?"
        " LEFT JOIN trace_metadata u ON u.trace_id = t.trace_id AND u.name = ?"
        f" WHERE t.experiment_id IN ({_marks(len(ids))})"
    )
    args: list[Any] = [TRACE_NAME_TAG, TOKEN_USAGE_METADATA, *ids]
    if start_time_ms is not None:
        sql += " AND t.request_time >= ?"
        args.append(start_time_ms)
    if end_time_ms is not None:
        sql += " AND t.request_time <= ?"
        args.append(end_time_ms)
    with db.read() as cur:
        rows = cur.execute(sql, tuple(args)).fetchall()
    groups: dict[tuple[Any, ...], list[float]] = {}
    for state, request_time, duration, name, usage in rows:
        dims: list[Any] = []
        if time_interval_seconds:
            step = time_interval_seconds * 1000
            dims.append(int(request_time) // step * step)
        given = {"trace_status": state, "trace_name": name}
        dims += [given[d] for d in dimensions]
        if any(v is None for v in dims):
            continue  # a trace without the dimension's value is not part of any group
        bucket = groups.setdefault(tuple(dims), [])
        if metric_name == TRACE_COUNT:
            bucket.append(1.0)
        elif metric_name == LATENCY:
            if duration is not None:
                bucket.append(float(duration))
        else:
            tokens = json_number(usage, metric_name)
            if tokens is not None:
                bucket.append(tokens)
    names = ([TIME_BUCKET] if time_interval_seconds else []) + list(dimensions)
    points = []
    for key in sorted(
        groups, key=lambda k: tuple(str(v) if not isinstance(v, int) else f"{v:020d}" for v in k)
    ):
        values = {a.label: v for a in aggregations if (v := _aggregate(a, groups[key])) is not None}
        if not values:
            continue
        dims_out = {}
        for n, v in zip(names, key, strict=True):
            dims_out[n] = (
                datetime.fromtimestamp(v / 1000, tz=timezone.utc).isoformat() if n == TIME_BUCKET else str(v)
            )
        points.append({"metric_name": metric_name, "dimensions": dims_out, "values": values})
    return points
