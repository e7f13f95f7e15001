"""Evaluation datasets (mlflow 3's ``/api/3.0/mlflow/datasets``): named sets of records (inputs,
expectations, outputs, tags) for GenAI evaluation, linked to experiments.

A record is identified by its inputs: upserting a record whose inputs are already present merges
its expectations and tags into the stored one. Rows keep the searchable fields as columns and the
rest as JSON.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.search.paging import make_page_token, parse_page_token
from labkeep.stores.sql.db import Database
from labkeep.stores.sql.db import upsert_sql as _upsert
from labkeep.utils.clock import now_ms

MAX_RESULTS = 1000
_FILTER_RE = re.compile(r"^\s*(name|tags\.`?([\w.\-]+)`?)\s*(=|!=|LIKE)\s*'([^']*)'\s*$", re.IGNORECASE)
_ORDER_RE = re.compile(r"^\s*(name|created_time|last_update_time)(?:\s+(ASC|DESC))?\s*$", re.IGNORECASE)


def _inputs_key(inputs: Any) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def _like(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern) + r"\Z"
    )


class SqlEvalDatasetStore:
    """Evaluation datasets, their experiments and records on a SQL database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        d = db.dialect
        link = "INSERT INTO eval_dataset_experiments (dataset_id, experiment_id) VALUES (?, ?)"
        self._sql_link = link + (
            " ON DUPLICATE KEY UPDATE dataset_id = dataset_id" if d == "mysql" else " ON CONFLICT DO NOTHING"
        )
        self._sql_record = _upsert(
            d, "eval_dataset_records", ("dataset_id", "inputs_key"), ("record_id", "created_time", "content")
        )

    # ------------------------------------------------------------ datasets
    def _require_experiments(self, cur: Any, experiment_ids: Sequence[str]) -> list[int]:
        ids = []
        for e in experiment_ids:
            if (
                not str(e).isdigit()
                or not cur.execute("SELECT 1 FROM experiments WHERE experiment_id = ?", (int(e),)).fetchone()
            ):
                raise ResourceDoesNotExist(f"Experiment with id={e} not found.")
            ids.append(int(e))
        return ids

    def create_dataset(
        self, name: str, tags: dict[str, str] | None, experiment_ids: Sequence[str], user: str | None = None
    ) -> dict[str, Any]:
        if not name:
            raise InvalidParameterValue("Missing value for required parameter 'name'.")
        now = now_ms()
        ds: dict[str, Any] = {
            "dataset_id": "d-" + uuid.uuid4().hex,
            "name": name,
            "tags": {str(k): str(v) for k, v in (tags or {}).items()},
            "digest": hashlib.sha256(f"{name}{now}".encode()).hexdigest()[:8],
            "created_time": now,
            "last_update_time": now,
        }
        if user:
            ds["created_by"] = ds["last_updated_by"] = user
        with self.db.write() as cur:
            ids = self._require_experiments(cur, experiment_ids)
            cur.execute(
                "INSERT INTO eval_datasets (dataset_id, name, created_time, last_update_time, content)"
                " VALUES (?, ?, ?, ?, ?)",
                (ds["dataset_id"], name, now, now, json.dumps(ds)),
            )
            cur.executemany(self._sql_link, [(ds["dataset_id"], e) for e in ids])
        return self.get_dataset(ds["dataset_id"])

    def get_dataset(self, dataset_id: str) -> dict[str, Any]:
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT content FROM eval_datasets WHERE dataset_id = ?", (dataset_id,)
            ).fetchone()
            if row is None:
                raise ResourceDoesNotExist(f"Dataset '{dataset_id}' not found.")
            exps = cur.execute(
                "SELECT experiment_id FROM eval_dataset_experiments WHERE dataset_id = ? ORDER BY experiment_id",
                (dataset_id,),
            ).fetchall()
        ds: dict[str, Any] = json.loads(row[0])
        ds["experiment_ids"] = [str(r[0]) for r in exps]
        return ds

    def _save(self, ds: dict[str, Any]) -> None:
        ds = {k: v for k, v in ds.items() if k != "experiment_ids"}
        ds["last_update_time"] = max(now_ms(), ds["created_time"])
        with self.db.write() as cur:
            cur.execute(
                "UPDATE eval_datasets SET name = ?, last_update_time = ?, content = ? WHERE dataset_id = ?",
                (ds["name"], ds["last_update_time"], json.dumps(ds), ds["dataset_id"]),
            )

    def delete_dataset(self, dataset_id: str) -> None:
        self.get_dataset(dataset_id)
        with self.db.write() as cur:
            for table in ("eval_dataset_records", "eval_dataset_experiments", "eval_datasets"):
                cur.execute(f"DELETE FROM {table} WHERE dataset_id = ?", (dataset_id,))

    def set_tags(self, dataset_id: str, tags: dict[str, Any]) -> None:
        ds = self.get_dataset(dataset_id)
        for k, v in tags.items():
            if v is None:
                ds["tags"].pop(str(k), None)
            else:
                ds["tags"][str(k)] = str(v)
        self._save(ds)

    def delete_tag(self, dataset_id: str, key: str) -> None:
        ds = self.get_dataset(dataset_id)
        ds["tags"].pop(key, None)
        self._save(ds)

    def add_experiments(self, dataset_id: str, experiment_ids: Sequence[str]) -> dict[str, Any]:
        self.get_dataset(dataset_id)
        with self.db.write() as cur:
            ids = self._require_experiments(cur, experiment_ids)
            cur.executemany(self._sql_link, [(dataset_id, e) for e in ids])
        return self.get_dataset(dataset_id)

    def remove_experiments(self, dataset_id: str, experiment_ids: Sequence[str]) -> dict[str, Any]:
        self.get_dataset(dataset_id)
        with self.db.write() as cur:
            for e in experiment_ids:
                if str(e).isdigit():
                    cur.execute(
                        "DELETE FROM eval_dataset_experiments WHERE dataset_id = ? AND experiment_id = ?",
                        (dataset_id, int(e)),
                    )
        return self.get_dataset(dataset_id)

    def search_datasets(
        self,
        experiment_ids: Sequence[str] = (),
        filter_string: str | None = None,
        max_results: int = 1000,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        if not 1 <= max_results <= MAX_RESULTS:
            raise InvalidParameterValue(
                f"max_results must be between 1 and {MAX_RESULTS}, got {max_results}."
            )
        clauses = []
        if filter_string and filter_string.strip():
            for part in re.split(r"\s+AND\s+", filter_string.strip(), flags=re.IGNORECASE):
                m = _FILTER_RE.match(part)
                if not m:
                    raise InvalidParameterValue(
                        f"Invalid dataset filter {filter_string!r}: use name or tags.<key> with = != LIKE"
                        " and a quoted string, joined with AND."
                    )
                clauses.append((m.group(2), m.group(3).upper(), m.group(4)))
        order = []
        for o in order_by or ["created_time DESC"]:
            m = _ORDER_RE.match(o)
            if not m:
                raise InvalidParameterValue(
                    f"Invalid order_by {o!r}: use name, created_time or last_update_time."
                )
            order.append((m.group(1).lower(), (m.group(2) or "ASC").upper() == "ASC"))
        with self.db.read() as cur:
            if experiment_ids:
                ids = [int(e) for e in experiment_ids if str(e).isdigit()]
                marks = ",".join("?" * len(ids)) or "NULL"
                rows = cur.execute(
                    "SELECT DISTINCT d.dataset_id FROM eval_datasets d JOIN eval_dataset_experiments x"
                    f" ON x.dataset_id = d.dataset_id WHERE x.experiment_id IN ({marks})",
                    tuple(ids),
                ).fetchall()
            else:
                rows = cur.execute("SELECT dataset_id FROM eval_datasets").fetchall()
        found = [self.get_dataset(r[0]) for r in rows]

        def keep(ds: dict[str, Any]) -> bool:
            for tag, op, value in clauses:
                actual = ds["name"] if tag is None else ds["tags"].get(tag)
                hit = actual is not None and (
                    bool(_like(value).match(actual)) if op == "LIKE" else actual == value
                )
                if hit != (op != "!="):
                    return False
            return True

        found = [ds for ds in found if keep(ds)]
        found.sort(key=lambda ds: ds["dataset_id"])
        for field, asc in reversed(order):
            found.sort(key=itemgetter(field), reverse=not asc)
        offset = parse_page_token(page_token)
        page = found[offset : offset + max_results]
        return page, make_page_token(offset + max_results) if offset + max_results < len(found) else None

    # ------------------------------------------------------------ records
    def upsert_records(
        self, dataset_id: str, records: list[dict[str, Any]], user: str | None = None
    ) -> dict[str, int]:
        ds = self.get_dataset(dataset_id)
        inserted = updated = 0
        now = now_ms()
        with self.db.write() as cur:
            for rec in records:
                if not isinstance(rec, dict) or not isinstance(rec.get("inputs"), dict):
                    raise InvalidParameterValue("Each dataset record needs an 'inputs' object.")
                key = _inputs_key(rec["inputs"])
                row = cur.execute(
                    "SELECT content FROM eval_dataset_records WHERE dataset_id = ? AND inputs_key = ?",
                    (dataset_id, key),
                ).fetchone()
                if row is None:
                    stored = {
                        "dataset_record_id": "dr-" + uuid.uuid4().hex,
                        "dataset_id": dataset_id,
                        "inputs": rec["inputs"],
                        "created_time": now,
                    }
                    if user:
                        stored["created_by"] = user
                    inserted += 1
                else:
                    stored = json.loads(row[0])
                    updated += 1
                for field in ("expectations", "tags"):
                    if rec.get(field):
                        stored[field] = {**(stored.get(field) or {}), **rec[field]}
                for field in ("outputs", "source", "source_id", "source_type"):
                    if rec.get(field) is not None:
                        stored[field] = rec[field]
                stored["last_update_time"] = now
                if user:
                    stored["last_updated_by"] = user
                cur.execute(
                    self._sql_record,
                    (
                        dataset_id,
                        key,
                        stored["dataset_record_id"],
                        stored["created_time"],
                        json.dumps(stored),
                    ),
                )
        self._save(ds)
        return {"inserted": inserted, "updated": updated}

    def get_records(
        self, dataset_id: str, max_results: int = 1000, page_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        self.get_dataset(dataset_id)
        offset = parse_page_token(page_token)
        with self.db.read() as cur:
            rows = cur.execute(
                "SELECT content FROM eval_dataset_records WHERE dataset_id = ? ORDER BY created_time, record_id"
                " LIMIT ? OFFSET ?",
                (dataset_id, max_results + 1, offset),
            ).fetchall()
        records = [json.loads(r[0]) for r in rows[:max_results]]
        return records, make_page_token(offset + max_results) if len(rows) > max_results else None

    def delete_records(self, dataset_id: str, record_ids: Sequence[str]) -> int:
        self.get_dataset(dataset_id)
        deleted = 0
        with self.db.write() as cur:
            for rid in record_ids:
                cur.execute(
                    "DELETE FROM eval_dataset_records WHERE dataset_id = ? AND record_id = ?",
                    (dataset_id, rid),
                )
                deleted += cur.rowcount
        return deleted
