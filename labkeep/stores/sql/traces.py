"""``SqlTraceStore``: traces, their tags, metadata, spans and assessments in the SQL store.

Shares the tracking store's ``Database`` (same file or server, same schema). One trace is written
in one transaction; spans are stored one row each with the span as JSON. Searches select the
experiments' traces with SQL and apply the trace filter language in memory (``genai.tracing.search``).
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.genai.tracing.entities import (
    LINKED_RUNS_METADATA,
    SOURCE_RUN_METADATA,
    SPANS_LOCATION_TAG,
    Assessment,
    Trace,
    TraceInfo,
)
from labkeep.stores.base import SEARCH_TRACES_DEFAULT_MAX_RESULTS, TraceStore
from labkeep.stores.sql.db import IN_LIST_CHUNK, Database, open_database
from labkeep.stores.sql.db import chunks as _chunks
from labkeep.stores.sql.db import placeholders as _marks
from labkeep.stores.sql.db import upsert_sql as _upsert
from labkeep.utils.clock import now_ms

TAG_KEY_MAX = 250
TAG_VALUE_MAX = 8000
SEARCH_TRACES_MAX_RESULTS = 50_000


def _check_tag(key: str, value: Any) -> tuple[str, str]:
    if not isinstance(key, str) or not key:
        raise InvalidParameterValue("A trace tag needs a non-empty string key.")
    if len(key) > TAG_KEY_MAX:
        raise InvalidParameterValue(f"Trace tag key '{key[:40]}…' is longer than {TAG_KEY_MAX} characters.")
    text = "" if value is None else str(value)
    return key, text[:TAG_VALUE_MAX]


def span_row(trace_id: str, span: dict[str, Any]) -> tuple[Any, ...]:
    attrs = span.get("attributes") or {}
    span_type = attrs.get("mlflow.spanType")
    try:
        span_type = json.loads(span_type) if isinstance(span_type, str) else span_type
    except ValueError:
        pass
    status = str((span.get("status") or {}).get("code") or "STATUS_CODE_UNSET").replace("STATUS_CODE_", "")
    return (
        trace_id,
        str(span.get("span_id") or ""),
        span.get("parent_span_id") or None,
        (span.get("name") or "")[:500],
        None if span_type is None else str(span_type)[:500],
        status[:50],
        int(span.get("start_time_unix_nano") or 0),
        None if span.get("end_time_unix_nano") is None else int(span["end_time_unix_nano"]),
        json.dumps(span, separators=(",", ":"), ensure_ascii=False),
    )


# order_by lists the SQL fast path can serve (else ordering happens in memory)
_SQL_ORDER: dict[tuple[tuple[str, bool], ...], str] = {
    (): "request_time DESC",
    (("request_time", False),): "request_time DESC",
    (("request_time", True),): "request_time ASC",
    (("execution_duration", False),): "execution_duration DESC",
    (("execution_duration", True),): "execution_duration ASC",
}
_BASE_ATTRS = {
    "request_id", "trace_id", "client_request_id", "status", "state", "prompt",
    "timestamp", "timestamp_ms", "execution_time", "execution_time_ms", "end_time", "end_time_ms",
}  # fmt: skip


def _is_base_clause(c: Any) -> bool:
    return c.entity == "attr" and c.key in _BASE_ATTRS


class SqlTraceStore(TraceStore):
    """Trace storage on a SQL database (``sqlite:///…``, ``postgresql://…``, ``mysql+pymysql://…``)."""

    def __init__(self, db: Database | str) -> None:
        if isinstance(db, str):
            from labkeep.stores.sql.migrate import ensure_schema

            db = open_database(db)
            ensure_schema(db)
        self.db = db
        d = db.dialect
        self._sql_trace = _upsert(
            d,
            "traces",
            ("trace_id",),
            (
                "experiment_id",
                "request_time",
                "execution_duration",
                "state",
                "request_preview",
                "response_preview",
                "client_request_id",
            ),
        )
        self._sql_tag = _upsert(d, "trace_tags", ("trace_id", "name"), ("value",))
        self._sql_meta = _upsert(d, "trace_metadata", ("trace_id", "name"), ("value",))
        self._sql_span = _upsert(
            d,
            "trace_spans",
            ("trace_id", "span_id"),
            ("parent_span_id", "name", "span_type", "status", "start_time_ns", "end_time_ns", "content"),
        )
        self._sql_assessment = _upsert(
            d, "trace_assessments", ("assessment_id",), ("trace_id", "name", "kind", "create_time", "content")
        )

    # ------------------------------------------------------------ writes
    def log_trace(self, info: TraceInfo, spans: Sequence[dict[str, Any]] | None = None) -> TraceInfo:
        """Store (or replace) a trace's info and add its spans, in one transaction."""
        self._check_experiment(info.experiment_id)
        if spans:
            info.tags.setdefault(SPANS_LOCATION_TAG, "TRACKING_STORE")
        with self.db.write() as cur:
            self._write_info(cur, info)
            if spans:
                cur.executemany(self._sql_span, [span_row(info.trace_id, s) for s in spans])
        return info

    def log_traces(self, items: Sequence[tuple[TraceInfo, Sequence[dict[str, Any]]]]) -> None:
        """Store many traces (with spans and assessments) in one transaction."""
        for exp in {i.experiment_id for i, _ in items}:
            self._check_experiment(exp)
        with self.db.write() as cur:
            for info, spans in items:
                if spans:
                    info.tags.setdefault(SPANS_LOCATION_TAG, "TRACKING_STORE")
                self._write_info(cur, info)
                if spans:
                    cur.executemany(self._sql_span, [span_row(info.trace_id, s) for s in spans])

    def start_trace(self, info: TraceInfo) -> TraceInfo:
        """The server side of ``POST /api/3.0/mlflow/traces``: store the info, keep known spans."""
        self._check_experiment(info.experiment_id)
        with self.db.write() as cur:
            has_spans = cur.execute(
                "SELECT 1 FROM trace_spans WHERE trace_id = ? LIMIT 1", (info.trace_id,)
            ).fetchone()
            if has_spans:
                info.tags[SPANS_LOCATION_TAG] = "TRACKING_STORE"
            else:
                info.tags.pop(SPANS_LOCATION_TAG, None)
            self._write_info(cur, info)
        return self.get_trace_info(info.trace_id)

    def _write_info(self, cur: Any, info: TraceInfo) -> None:
        cur.execute(
            self._sql_trace,
            (
                info.trace_id,
                int(info.experiment_id),
                int(info.request_time),
                info.execution_duration,
                info.state,
                info.request_preview,
                info.response_preview,
                info.client_request_id,
            ),
        )
        if info.tags:
            cur.executemany(self._sql_tag, [(info.trace_id, *_check_tag(k, v)) for k, v in info.tags.items()])
        if info.trace_metadata:
            cur.executemany(
                self._sql_meta,
                [(info.trace_id, str(k)[:TAG_KEY_MAX], str(v)) for k, v in info.trace_metadata.items()],
            )
        if info.assessments:
            now = now_ms()
            rows = []
            for a in info.assessments:
                a.trace_id = info.trace_id
                a.assessment_id = a.assessment_id or "a-" + uuid.uuid4().hex
                a.create_time_ms = a.create_time_ms or now
                content = json.dumps(a.to_dict(), default=str)
                rows.append((a.assessment_id, a.trace_id, a.name[:250], a.kind, a.create_time_ms, content))
            cur.executemany(self._sql_assessment, rows)

    def log_spans(self, spans: Sequence[dict[str, Any]], trace_ids: Sequence[str]) -> int:
        """Add spans (``trace_ids[i]`` is span i's ``tr-…`` id); marks known traces as span-backed."""
        if not spans:
            return 0
        with self.db.write() as cur:
            cur.executemany(
                self._sql_span, [span_row(tid, s) for tid, s in zip(trace_ids, spans, strict=True)]
            )
            for tid in sorted(set(trace_ids)):
                if cur.execute("SELECT 1 FROM traces WHERE trace_id = ?", (tid,)).fetchone():
                    cur.execute(self._sql_tag, (tid, SPANS_LOCATION_TAG, "TRACKING_STORE"))
        return len(spans)

    def _check_experiment(self, experiment_id: str) -> None:
        try:
            exp = int(experiment_id)
        except (TypeError, ValueError):
            raise InvalidParameterValue(f"Invalid experiment id {experiment_id!r} for a trace.")
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", (exp,)
            ).fetchone()
        if row is None:
            raise ResourceDoesNotExist(f"No experiment with id={experiment_id} to store the trace in.")

    def set_trace_tag(self, trace_id: str, key: str, value: Any) -> None:
        from labkeep.utils.validation import validate_key

        key, text = _check_tag(validate_key(key, "trace tag key"), value)
        self._require(trace_id)
        with self.db.write() as cur:
            cur.execute(self._sql_tag, (trace_id, key, text))

    def link_traces_to_run(self, trace_ids: Sequence[str], run_id: str) -> None:
        """Associate traces with a run: a trace without a source run gets ``run_id`` as it; others
        list it in ``labkeep.linkedRuns`` (search by ``attribute.run_id`` finds both)."""
        if len(trace_ids) > 100:
            raise InvalidParameterValue(f"Cannot link more than 100 traces to a run at once; got {len(trace_ids)}.")
        with self.db.write() as cur:
            for trace_id in trace_ids:
                # as mlflow, a trace still being exported may be linked before it arrives: the link
                # is kept in its metadata, which the trace's own upload leaves in place
                exists = cur.execute("SELECT 1 FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
                meta: dict[str, str] = dict(
                    cur.execute(
                        "SELECT name, value FROM trace_metadata WHERE trace_id = ? AND name IN (?, ?)",
                        (trace_id, SOURCE_RUN_METADATA, LINKED_RUNS_METADATA),
                    ).fetchall()
                )
                if exists and meta.get(SOURCE_RUN_METADATA) in (None, "", run_id):
                    cur.execute(self._sql_meta, (trace_id, SOURCE_RUN_METADATA, run_id))
                    continue
                linked = json.loads(meta.get(LINKED_RUNS_METADATA) or "[]")
                if run_id not in linked:
                    linked.append(run_id)
                    cur.execute(self._sql_meta, (trace_id, LINKED_RUNS_METADATA, json.dumps(linked)))

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        self._require(trace_id)
        with self.db.write() as cur:
            cur.execute("DELETE FROM trace_tags WHERE trace_id = ? AND name = ?", (trace_id, key))
            if cur.rowcount == 0:
                raise ResourceDoesNotExist(f"No tag with key '{key}' on trace '{trace_id}'.")

    def set_trace_metadata(self, trace_id: str, key: str, value: Any) -> None:
        self._require(trace_id)
        with self.db.write() as cur:
            cur.execute(self._sql_meta, (trace_id, str(key)[:TAG_KEY_MAX], str(value)))

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        if trace_ids is None and max_timestamp_millis is None:
            raise InvalidParameterValue("delete_traces needs trace_ids or max_timestamp_millis.")
        with self.db.write() as cur:
            if trace_ids is not None:
                ids = list(trace_ids)
            else:
                assert max_timestamp_millis is not None  # one of the two was checked above
                sql = "SELECT trace_id FROM traces WHERE experiment_id = ? AND request_time <= ? ORDER BY request_time"
                rows = cur.execute(sql, (int(experiment_id), int(max_timestamp_millis))).fetchall()
                ids = [r[0] for r in rows][: max_traces or None]
            count = 0
            for chunk in _chunks(ids):
                m = _marks(len(chunk))
                cur.execute(
                    f"DELETE FROM traces WHERE experiment_id = ? AND trace_id IN ({m})",
                    (int(experiment_id), *chunk),
                )
                count += cur.rowcount
                for table in ("trace_tags", "trace_metadata", "trace_spans", "trace_assessments"):
                    cur.execute(f"DELETE FROM {table} WHERE trace_id IN ({m})", tuple(chunk))
        return count

    # ------------------------------------------------------------ assessments
    def create_assessment(self, assessment: Assessment) -> Assessment:
        if not assessment.name:
            raise InvalidParameterValue("An assessment needs a name (assessment_name).")
        self._require(assessment.trace_id)
        now = now_ms()
        assessment.assessment_id = assessment.assessment_id or "a-" + uuid.uuid4().hex
        assessment.create_time_ms = assessment.create_time_ms or now
        assessment.last_update_time_ms = assessment.last_update_time_ms or assessment.create_time_ms
        if assessment.valid is None:
            assessment.valid = True
        if assessment.overrides:  # the replaced assessment stays, marked invalid
            self._set_valid(assessment.trace_id, assessment.overrides, False)
        self._write_assessment(assessment)
        return assessment

    def _set_valid(self, trace_id: str, assessment_id: str, valid: bool) -> None:
        old = self.get_assessment(trace_id, assessment_id)
        old.valid = valid
        self._write_assessment(old)

    def _write_assessment(self, a: Assessment) -> None:
        content = json.dumps(a.to_dict(), default=str)
        with self.db.write() as cur:
            cur.execute(
                self._sql_assessment,
                (a.assessment_id, a.trace_id, a.name[:250], a.kind, a.create_time_ms, content),
            )

    def get_assessment(self, trace_id: str, assessment_id: str) -> Assessment:
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT content FROM trace_assessments WHERE trace_id = ? AND assessment_id = ?",
                (trace_id, assessment_id),
            ).fetchone()
        if row is None:
            raise ResourceDoesNotExist(f"No assessment '{assessment_id}' on trace '{trace_id}'.")
        return Assessment.from_dict(json.loads(row[0]))

    def update_assessment(self, trace_id: str, assessment_id: str, changes: dict[str, Any]) -> Assessment:
        a = self.get_assessment(trace_id, assessment_id)
        for key in ("value", "rationale", "metadata", "valid", "name"):
            if key in changes and changes[key] is not None:
                setattr(a, key, changes[key])
        a.last_update_time_ms = now_ms()
        self._write_assessment(a)
        return a

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        try:
            replaced = self.get_assessment(trace_id, assessment_id).overrides
        except ResourceDoesNotExist:
            replaced = None
        if replaced:  # deleting an override makes the assessment it replaced valid again
            try:
                self._set_valid(trace_id, replaced, True)
            except ResourceDoesNotExist:
                pass
        with self.db.write() as cur:
            cur.execute(
                "DELETE FROM trace_assessments WHERE trace_id = ? AND assessment_id = ?",
                (trace_id, assessment_id),
            )
            if cur.rowcount == 0:
                raise ResourceDoesNotExist(f"No assessment '{assessment_id}' on trace '{trace_id}'.")

    # ------------------------------------------------------------ reads
    def _require(self, trace_id: str) -> None:
        with self.db.read() as cur:
            if not cur.execute("SELECT 1 FROM traces WHERE trace_id = ?", (trace_id,)).fetchone():
                raise ResourceDoesNotExist(f"Trace with ID '{trace_id}' not found.")

    def _infos(self, cur: Any, rows: list[tuple[Any, ...]]) -> list[TraceInfo]:
        return self._load_extras(cur, self._base_infos(rows))

    @staticmethod
    def _base_infos(rows: list[tuple[Any, ...]]) -> list[TraceInfo]:
        return [
            TraceInfo(
                trace_id=r[0],
                experiment_id=str(r[1]),
                request_time=int(r[2]),
                execution_duration=None if r[3] is None else int(r[3]),
                state=r[4],
                request_preview=r[5],
                response_preview=r[6],
                client_request_id=r[7],
            )
            for r in rows
        ]

    def _load_extras(self, cur: Any, base: list[TraceInfo]) -> list[TraceInfo]:
        """Fill tags, metadata and assessments of ``base`` (in place); returns it."""
        infos = {i.trace_id: i for i in base}
        ids = list(infos)
        for chunk in _chunks(ids):
            m = _marks(len(chunk))
            for tid, name, value in cur.execute(
                f"SELECT trace_id, name, value FROM trace_tags WHERE trace_id IN ({m})", tuple(chunk)
            ).fetchall():
                infos[tid].tags[name] = value
            for tid, name, value in cur.execute(
                f"SELECT trace_id, name, value FROM trace_metadata WHERE trace_id IN ({m})", tuple(chunk)
            ).fetchall():
                infos[tid].trace_metadata[name] = value
            for tid, content in cur.execute(
                f"SELECT trace_id, content FROM trace_assessments WHERE trace_id IN ({m})"
                " ORDER BY create_time, assessment_id",
                tuple(chunk),
            ).fetchall():
                infos[tid].assessments.append(Assessment.from_dict(json.loads(content)))
        return base

    _INFO_COLS = (
        "trace_id, experiment_id, request_time, execution_duration, state, request_preview,"
        " response_preview, client_request_id"
    )

    def get_trace_info(self, trace_id: str) -> TraceInfo:
        with self.db.read() as cur:
            rows = cur.execute(
                f"SELECT {self._INFO_COLS} FROM traces WHERE trace_id = ?", (trace_id,)
            ).fetchall()
            if not rows:
                raise ResourceDoesNotExist(f"Trace with ID '{trace_id}' not found.")
            return self._infos(cur, rows)[0]

    def get_spans(self, trace_id: str) -> list[dict[str, Any]]:
        return self._spans([trace_id]).get(trace_id, [])

    def _spans(self, trace_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        with self.db.read() as cur:
            for chunk in _chunks(list(trace_ids)):
                rows = cur.execute(
                    f"SELECT trace_id, content FROM trace_spans WHERE trace_id IN ({_marks(len(chunk))})"
                    " ORDER BY start_time_ns, span_id",
                    tuple(chunk),
                ).fetchall()
                for tid, content in rows:
                    out.setdefault(tid, []).append(json.loads(content))
        return out

    def get_trace(self, trace_id: str) -> Trace:
        return Trace(self.get_trace_info(trace_id), self.get_spans(trace_id))

    def batch_get_traces(self, trace_ids: Sequence[str]) -> list[Trace]:
        ids = list(dict.fromkeys(trace_ids))
        infos: list[TraceInfo] = []
        with self.db.read() as cur:
            for chunk in _chunks(ids):
                rows = cur.execute(
                    f"SELECT {self._INFO_COLS} FROM traces WHERE trace_id IN ({_marks(len(chunk))})",
                    tuple(chunk),
                ).fetchall()
                infos += self._infos(cur, rows)
        spans = self._spans([i.trace_id for i in infos])
        by_id = {i.trace_id: i for i in infos}
        return [Trace(by_id[t], spans.get(t, [])) for t in ids if t in by_id]

    def search_traces(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int = SEARCH_TRACES_DEFAULT_MAX_RESULTS,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[TraceInfo], str | None]:
        from labkeep.genai.tracing.search import (
            clause_matches,
            parse_trace_filter,
            parse_trace_order_by,
            sort_key_value,
        )
        from labkeep.search.paging import make_page_token, parse_page_token

        if max_results is None:
            max_results = SEARCH_TRACES_DEFAULT_MAX_RESULTS
        if not isinstance(max_results, int) or max_results <= 0 or max_results > SEARCH_TRACES_MAX_RESULTS:
            raise InvalidParameterValue(
                f"max_results must be between 1 and {SEARCH_TRACES_MAX_RESULTS}, got {max_results!r}."
            )
        clauses = parse_trace_filter(filter_string)
        order = parse_trace_order_by(list(order_by or []))
        offset = parse_page_token(page_token)
        try:
            exp_ids = [int(e) for e in experiment_ids]
        except (TypeError, ValueError):
            raise InvalidParameterValue(f"Experiment ids must be integers, got {list(experiment_ids)!r}.")
        if not exp_ids:
            return [], None
        sql_order = _SQL_ORDER.get(tuple(order))
        if not clauses and sql_order is not None and len(exp_ids) <= IN_LIST_CHUNK:
            # the common case (listing, paging): one indexed query for just this page
            with self.db.read() as cur:
                rows = cur.execute(
                    f"SELECT {self._INFO_COLS} FROM traces WHERE experiment_id IN ({_marks(len(exp_ids))})"
                    f" ORDER BY {sql_order}, trace_id LIMIT ? OFFSET ?",
                    (*exp_ids, max_results + 1, offset),
                ).fetchall()
                page = self._infos(cur, rows[:max_results])
            return page, make_page_token(offset + max_results) if len(rows) > max_results else None
        infos: list[TraceInfo] = []
        with self.db.read() as cur:
            for chunk in _chunks(exp_ids):
                rows = cur.execute(
                    f"SELECT {self._INFO_COLS} FROM traces WHERE experiment_id IN ({_marks(len(chunk))})",
                    tuple(chunk),
                ).fetchall()
                infos += self._base_infos(rows)
            # clauses on trace columns first; tags/metadata/assessments only for the survivors
            base_clauses = [c for c in clauses if _is_base_clause(c)]
            if base_clauses:
                infos = [i for i in infos if all(clause_matches(i, c) for c in base_clauses)]
            for chunk in _chunks(infos):
                self._load_extras(cur, list(chunk))
        rest = [c for c in clauses if not _is_base_clause(c)]
        if rest:
            span_cache: dict[str, list[dict[str, Any]]] = {}
            if any(c.entity == "span" or (c.entity == "attr" and c.key == "text") for c in rest):
                span_cache = self._spans([i.trace_id for i in infos])

            def spans_of(trace_id: str) -> Callable[[], list[dict[str, Any]]]:
                return lambda: span_cache.get(trace_id, [])
            infos = [
                i
                for i in infos
                if all(clause_matches(i, c, spans_of(i.trace_id)) for c in rest)
            ]
        # default: newest first; ties broken by trace id for stable paging
        infos.sort(key=lambda i: i.trace_id)
        if not order:
            infos.sort(key=lambda i: i.request_time, reverse=True)
        for fld, asc in reversed(order):
            infos.sort(key=functools.partial(sort_key_value, field=fld), reverse=not asc)
        page = infos[offset : offset + max_results]
        token = make_page_token(offset + max_results) if offset + max_results < len(infos) else None
        return page, token
