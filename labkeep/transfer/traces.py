"""Trace records: readers for MLflow's file store and database, and the SQL writer.

A ``trace`` record: trace_id, experiment_id, request_time (ms), execution_duration (ms), state,
request_preview, response_preview, client_request_id, tags {}, metadata {}, spans [span dicts in
the ``traces.json`` shape both MLflow and labkeep store].
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Iterator
from typing import Any

from labkeep.transfer.records import Problem


def _ms(value: Any) -> int:
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    text = str(value).replace("Z", "+00:00")
    return int(datetime.datetime.fromisoformat(text).timestamp() * 1000)


def _spans_file(path: str) -> list[dict[str, Any]]:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return list(json.load(f).get("spans") or [])


def file_store_traces(exp_dir: str, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
    """Traces under ``<experiment>/traces/`` of an MLflow file store."""
    from labkeep.transfer.mlflow_files import CorruptItem, _key_values, _read_yaml

    folder = os.path.join(exp_dir, "traces")
    if not os.path.isdir(folder):
        return
    for trace_id in sorted(os.listdir(folder)):
        path = os.path.join(folder, trace_id)
        try:
            info = _read_yaml(os.path.join(path, "trace_info.yaml"))
            yield {
                "trace_id": str(info.get("trace_id") or trace_id),
                "experiment_id": experiment_id,
                "request_time": _ms(info["request_time"]),
                "execution_duration": info.get("execution_duration_ms"),
                "state": str(info.get("state") or "OK"),
                "request_preview": info.get("request_preview"),
                "response_preview": info.get("response_preview"),
                "client_request_id": info.get("client_request_id"),
                "tags": _key_values(os.path.join(path, "tags")),
                "metadata": _key_values(os.path.join(path, "request_metadata")),
                "spans": _spans_file(os.path.join(path, "artifacts", "traces.json")),
            }
        except (CorruptItem, KeyError, ValueError, OSError) as exc:
            yield Problem("trace", trace_id, str(exc))


def database_traces(src: Any, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
    """Traces of one experiment in an MLflow database (``src`` is the ``MlflowDatabaseSource``)."""
    if not src._has("trace_info"):
        return
    rows = src._select(
        "trace_info",
        (
            "request_id",
            "timestamp_ms",
            "execution_time_ms",
            "status",
            "request_preview",
            "response_preview",
            "client_request_id",
            "trace_name",
        ),
        "experiment_id = ?",
        (int(experiment_id),),
    )
    for i in range(0, len(rows), 200):
        chunk = rows[i : i + 200]
        ids = [r[0] for r in chunk]
        where = src._in("request_id", len(ids))
        tags: dict[str, dict[str, str]] = {}
        meta: dict[str, dict[str, str]] = {}
        if src._has("trace_tags"):
            for key, value, tid in src._select("trace_tags", ("key", "value", "request_id"), where, ids):
                tags.setdefault(tid, {})[key] = value or ""
        if src._has("trace_request_metadata"):
            for key, value, tid in src._select(
                "trace_request_metadata", ("key", "value", "request_id"), where, ids
            ):
                meta.setdefault(tid, {})[key] = value or ""
        spans: dict[str, list] = {}
        if src._has("spans"):
            for tid, content in src._select(
                "spans", ("trace_id", "content"), src._in("trace_id", len(ids)), ids
            ):
                try:
                    spans.setdefault(tid, []).append(json.loads(content))
                except ValueError:
                    continue
        for r in chunk:
            tid = r[0]
            if r[7] and "mlflow.traceName" not in tags.get(tid, {}):  # a column in newer schemas
                tags.setdefault(tid, {})["mlflow.traceName"] = r[7]
            found = spans.get(tid)
            if found is None:  # older schemas keep spans as an artifact beside the trace
                loc = tags.get(tid, {}).get("mlflow.artifactLocation", "")
                path = loc[len("file://") :] if loc.startswith("file://") else loc
                found = _spans_file(os.path.join(path, "traces.json")) if path and "://" not in path else []
            yield {
                "trace_id": tid,
                "experiment_id": experiment_id,
                "request_time": int(r[1]),
                "execution_duration": r[2],
                "state": {"IN_PROGRESS": "IN_PROGRESS", "ERROR": "ERROR"}.get(str(r[3]), "OK"),
                "request_preview": r[4],
                "response_preview": r[5],
                "client_request_id": r[6],
                "tags": tags.get(tid, {}),
                "metadata": meta.get(tid, {}),
                "spans": found,
            }


def write_trace(db: Any, rec: dict[str, Any], exp_id: str, dry_run: bool) -> str:
    """Insert a trace that is not in the destination yet ("new"), else "unchanged"."""
    from labkeep.stores.sql.traces import span_row

    with db.read() as cur:
        if cur.execute("SELECT 1 FROM traces WHERE trace_id = ?", (rec["trace_id"],)).fetchone():
            return "unchanged"
    if dry_run:
        return "new"
    tid = rec["trace_id"]
    tags = {k: v for k, v in rec["tags"].items() if k != "mlflow.artifactLocation"}
    with db.write() as cur:
        cur.execute(
            "INSERT INTO traces (trace_id, experiment_id, request_time, execution_duration, state, request_preview,"
            " response_preview, client_request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                tid,
                int(exp_id),
                int(rec["request_time"]),
                rec.get("execution_duration"),
                rec.get("state") or "OK",
                rec.get("request_preview"),
                rec.get("response_preview"),
                rec.get("client_request_id"),
            ),
        )
        cur.executemany(
            "INSERT INTO trace_tags (trace_id, name, value) VALUES (?, ?, ?)",
            [(tid, k, str(v)) for k, v in tags.items()],
        )
        cur.executemany(
            "INSERT INTO trace_metadata (trace_id, name, value) VALUES (?, ?, ?)",
            [(tid, k, str(v)) for k, v in rec["metadata"].items()],
        )
        cur.executemany(
            "INSERT INTO trace_spans (trace_id, span_id, parent_span_id, name, span_type, status, start_time_ns,"
            " end_time_ns, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [span_row(tid, s) for s in rec["spans"]],
        )
    return "new"
