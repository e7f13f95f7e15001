"""Registered scorers and trace metrics from Python, on the store the tracking URI names.

A registered scorer is a serialized scorer kept per experiment under a name, with versions
(what mlflow's ``Scorer.register`` stores). Trace metrics aggregate an experiment's traces.

    v = register_scorer("relevance", json.dumps(spec), experiment_id="1")   # version 1
    get_scorer("relevance", experiment_id="1").serialized_scorer
    query_trace_metrics(["1"], "trace_count", dimensions=["trace_status"])
    # [{'metric_name': 'trace_count', 'dimensions': {'trace_status': 'OK'}, 'values': {'COUNT': 2.0}}]

Works against a database URI (SQLite/PostgreSQL/MySQL) or a labkeep/mlflow server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ScorerVersion",
    "delete_scorer",
    "get_scorer",
    "list_scorer_versions",
    "list_scorers",
    "query_trace_metrics",
    "register_scorer",
]

_SCORERS = "/api/3.0/mlflow/scorers"


@dataclass(frozen=True)
class ScorerVersion:
    """One stored version of a registered scorer."""

    experiment_id: str
    scorer_name: str
    scorer_version: int
    serialized_scorer: str
    creation_time: int
    scorer_id: str

    @classmethod
    def _from(cls, d: dict[str, Any]) -> ScorerVersion:
        return cls(
            experiment_id=str(d.get("experiment_id")),
            scorer_name=d.get("scorer_name") or d.get("name") or "",
            scorer_version=int(d.get("scorer_version") or d.get("version") or 0),
            serialized_scorer=d.get("serialized_scorer") or "",
            creation_time=int(d.get("creation_time") or 0),
            scorer_id=d.get("scorer_id") or "",
        )


def _target(tracking_uri: str | None) -> tuple[Any, Any]:
    """(REST client, None) for a server URI, else (None, the SQL database)."""
    from labkeep import config

    uri = config.normalize_store_uri(tracking_uri) if tracking_uri else config.get_tracking_uri()
    if uri.startswith(("http://", "https://")):
        from labkeep.stores.rest.http import HostCreds, RestClient

        return RestClient(HostCreds.from_env(uri)), None
    from labkeep.exceptions import InvalidParameterValue
    from labkeep.stores import get_tracking_store

    db = getattr(get_tracking_store(uri), "db", None)
    if db is None:
        raise InvalidParameterValue(f"The tracking store at {uri!r} cannot hold scorers or traces.")
    return None, db


def _sql(db: Any) -> Any:
    from labkeep.stores.sql.scorers import SqlScorerStore

    return SqlScorerStore(db)


def register_scorer(
    name: str, serialized_scorer: str, experiment_id: str, tracking_uri: str | None = None
) -> ScorerVersion:
    """Store the next version of scorer ``name`` in the experiment."""
    rest, db = _target(tracking_uri)
    if rest is not None:
        body = {"experiment_id": str(experiment_id), "name": name, "serialized_scorer": serialized_scorer}
        return ScorerVersion._from(rest.call("POST", f"{_SCORERS}/register", json_body=body))
    return ScorerVersion._from(_sql(db).register_scorer(experiment_id, name, serialized_scorer))


def list_scorers(experiment_id: str, tracking_uri: str | None = None) -> list[ScorerVersion]:
    """The latest version of every scorer registered in the experiment."""
    rest, db = _target(tracking_uri)
    if rest is not None:
        found = rest.call("GET", f"{_SCORERS}/list", params={"experiment_id": str(experiment_id)})
        return [ScorerVersion._from(s) for s in found.get("scorers", [])]
    return [ScorerVersion._from(s) for s in _sql(db).list_scorers([experiment_id])]


def list_scorer_versions(
    name: str, experiment_id: str, tracking_uri: str | None = None
) -> list[ScorerVersion]:
    """Every version of scorer ``name``, oldest first."""
    rest, db = _target(tracking_uri)
    if rest is not None:
        params = {"experiment_id": str(experiment_id), "name": name}
        return [
            ScorerVersion._from(s) for s in rest.call("GET", f"{_SCORERS}/versions", params=params)["scorers"]
        ]
    return [ScorerVersion._from(s) for s in _sql(db).list_scorer_versions(experiment_id, name)]


def get_scorer(
    name: str, experiment_id: str, version: int | None = None, tracking_uri: str | None = None
) -> ScorerVersion:
    """One version of scorer ``name`` (the latest when ``version`` is None)."""
    rest, db = _target(tracking_uri)
    if rest is not None:
        params: dict[str, Any] = {"experiment_id": str(experiment_id), "name": name}
        if version is not None:
            params["version"] = version
        return ScorerVersion._from(rest.call("GET", f"{_SCORERS}/get", params=params)["scorer"])
    return ScorerVersion._from(_sql(db).get_scorer(experiment_id, name, version))


def delete_scorer(
    name: str, experiment_id: str, version: int | None = None, tracking_uri: str | None = None
) -> None:
    """Delete one version of scorer ``name``, or all of them when ``version`` is None."""
    rest, db = _target(tracking_uri)
    if rest is not None:
        body: dict[str, Any] = {"experiment_id": str(experiment_id), "name": name}
        if version is not None:
            body["version"] = version
        rest.call("DELETE", f"{_SCORERS}/delete", json_body=body)
        return
    _sql(db).delete_scorer(experiment_id, name, version)


def query_trace_metrics(
    experiment_ids: Sequence[str],
    metric_name: str,
    aggregations: Sequence[str | dict[str, Any]] = ("COUNT",),
    dimensions: Sequence[str] = (),
    time_interval_seconds: int | None = None,
    start_time_ms: int | None = None,
    end_time_ms: int | None = None,
    tracking_uri: str | None = None,
) -> list[dict[str, Any]]:
    """Aggregates over the experiments' traces (TRACES view): ``trace_count``, ``latency`` or a
    token count, grouped by ``trace_status`` / ``trace_name`` (and time buckets when an interval is
    given). An aggregation is a name (``"AVG"``) or ``{"aggregation_type": "PERCENTILE",
    "percentile_value": 95}``."""
    aggs = [{"aggregation_type": a} if isinstance(a, str) else dict(a) for a in aggregations]
    rest, db = _target(tracking_uri)
    if rest is not None:
        body: dict[str, Any] = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "view_type": "TRACES",
            "metric_name": metric_name,
            "aggregations": aggs,
            "dimensions": list(dimensions),
        }
        for key, value in (
            ("time_interval_seconds", time_interval_seconds),
            ("start_time_ms", start_time_ms),
            ("end_time_ms", end_time_ms),
        ):
            if value is not None:
                body[key] = value
        points: list[dict[str, Any]] = []
        while True:
            resp = rest.call("POST", "/api/3.0/mlflow/traces/metrics", json_body=body)
            points += resp.get("data_points", [])
            if not resp.get("next_page_token"):
                return points
            body["page_token"] = resp["next_page_token"]
    from labkeep.stores.sql.trace_metrics import parse_aggregation
    from labkeep.stores.sql.trace_metrics import query_trace_metrics as query

    return query(
        db,
        [str(e) for e in experiment_ids],
        "TRACES",
        metric_name,
        [parse_aggregation(a) for a in aggs],
        dimensions=list(dimensions),
        time_interval_seconds=time_interval_seconds,
        start_time_ms=start_time_ms,
        end_time_ms=end_time_ms,
    )
