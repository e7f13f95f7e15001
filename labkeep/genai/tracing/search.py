"""The search_traces filter and order_by language, evaluated over trace infos (docs/reference/search.md).

Clauses joined by ``AND``: ``attributes.<key>`` / ``trace.<key>`` / bare ``<key>``, ``tags.<k>``,
``metadata.<k>`` / ``request_metadata.<k>``, ``span.<name|type|status|content>``,
``feedback.<name>`` / ``expectation.<name>``. String comparators ``= != LIKE ILIKE RLIKE``;
``IN`` / ``NOT IN`` for name, status, request_id, client_request_id, run_id; numbers ``= != < <= > >=``;
tags and metadata also ``IS NULL`` / ``IS NOT NULL``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.search import tokens as t

_NUMERIC_ATTRS = {
    "timestamp": "request_time",
    "timestamp_ms": "request_time",
    "execution_time": "execution_duration",
    "execution_time_ms": "execution_duration",
    "end_time": "end_time",
    "end_time_ms": "end_time",
}
_STRING_ATTRS = {
    "request_id",
    "trace_id",
    "client_request_id",
    "status",
    "state",
    "name",
    "run_id",
    "prompt",
    "text",
}
_LIST_ATTRS = {"name", "status", "state", "request_id", "trace_id", "client_request_id", "run_id"}
_ENTITIES = {
    "attributes": "attr",
    "attribute": "attr",
    "attr": "attr",
    "trace": "attr",
    "tags": "tag",
    "tag": "tag",
    "metadata": "meta",
    "request_metadata": "meta",
    "span": "span",
    "feedback": "feedback",
    "expectation": "expectation",
    "issue": "issue",
}
_STRING_OPS = {"=", "!=", "LIKE", "ILIKE", "RLIKE"}
_NUMERIC_OPS = {"=", "!=", "<", "<=", ">", ">="}


@dataclass
class TraceClause:
    entity: str
    key: str
    op: str
    value: Any


def _bad(filter_string: str, msg: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Invalid trace filter {filter_string!r}: {msg}")


def parse_trace_filter(filter_string: str | None) -> list[TraceClause]:
    if not filter_string or not filter_string.strip():
        return []
    toks = [tok for tok in t.tokenize(filter_string, "filter")]
    clauses: list[TraceClause] = []
    i = 0

    def peek(k: int = 0) -> t.Token:
        return toks[min(i + k, len(toks) - 1)]

    while True:
        # identifier: [entity.]key  (key may be backticked or dotted)
        parts: list[str] = []
        tok = peek()
        if tok.kind not in (t.WORD, t.BACKTICK, t.DQUOTE):
            raise _bad(filter_string, f"expected a key at position {tok.pos}, got {tok.show()}")
        parts.append(tok.text)
        i += 1
        while peek().kind == t.DOT:
            i += 1
            nxt = peek()
            if nxt.kind not in (t.WORD, t.BACKTICK, t.DQUOTE, t.NUMBER):
                raise _bad(filter_string, f"expected a key after '.' at position {nxt.pos}")
            parts.append(nxt.text)
            i += 1
        if len(parts) > 1 and parts[0] in _ENTITIES:
            entity, key = _ENTITIES[parts[0]], ".".join(parts[1:])
        elif len(parts) == 1:
            entity, key = "attr", parts[0]
        else:
            raise _bad(
                filter_string,
                f"unknown entity {parts[0]!r}; use attributes., tags., metadata., span., feedback.",
            )
        # comparator
        tok = peek()
        kw = tok.keyword()
        if tok.kind == t.OP:
            op = "!=" if tok.text == "<>" else ("=" if tok.text == "==" else tok.text)
            i += 1
        elif kw == "IS":
            i += 1
            if peek().keyword() == "NOT":
                i += 1
                op = "IS NOT NULL"
            else:
                op = "IS NULL"
            if peek().keyword() != "NULL":
                raise _bad(filter_string, "expected NULL after IS")
            i += 1
        elif kw == "NOT" and peek(1).keyword() == "IN":
            i += 2
            op = "NOT IN"
        elif kw in ("IN", "LIKE", "ILIKE") or (tok.kind == t.WORD and tok.text.upper() == "RLIKE"):
            op = tok.text.upper()
            i += 1
        else:
            raise _bad(filter_string, f"expected a comparator at position {tok.pos}, got {tok.show()}")
        # value
        value: Any = None
        if op in ("IN", "NOT IN"):
            if peek().kind != t.LPAREN:
                raise _bad(filter_string, f"{op} needs a parenthesised list")
            i += 1
            value = []
            while True:
                tok = peek()
                if tok.kind not in (t.SQUOTE, t.DQUOTE):
                    raise _bad(filter_string, f"{op} lists hold quoted strings")
                value.append(tok.text)
                i += 1
                if peek().kind == t.COMMA:
                    i += 1
                    continue
                if peek().kind == t.RPAREN:
                    i += 1
                    break
                raise _bad(filter_string, "unterminated list")
        elif op not in ("IS NULL", "IS NOT NULL"):
            tok = peek()
            if tok.kind in (t.SQUOTE, t.DQUOTE):
                value = tok.text
            elif tok.kind == t.NUMBER:
                value = float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
            elif tok.kind == t.WORD and tok.text.lower() in ("true", "false"):
                value = tok.text.lower()
            else:
                raise _bad(filter_string, f"expected a value at position {tok.pos}, got {tok.show()}")
            i += 1
        clauses.append(_validate(filter_string, TraceClause(entity, key, op, value)))
        tok = peek()
        if tok.kind == t.EOF:
            return clauses
        if tok.keyword() != "AND":
            raise _bad(
                filter_string, f"expected AND at position {tok.pos}, got {tok.show()} (OR is not supported)"
            )
        i += 1


def _validate(fs: str, c: TraceClause) -> TraceClause:
    if c.entity == "attr":
        if c.key in _NUMERIC_ATTRS:
            if c.op not in _NUMERIC_OPS or not isinstance(c.value, int | float):
                raise _bad(fs, f"'{c.key}' is numeric: compare it with = != < <= > >= and a number")
        elif c.key in _STRING_ATTRS:
            if c.op in ("IN", "NOT IN") and c.key not in _LIST_ATTRS:
                raise _bad(fs, f"IN is not supported for '{c.key}'")
            if c.op not in _STRING_OPS | {"IN", "NOT IN"}:
                raise _bad(fs, f"'{c.key}' is a string: use = != LIKE ILIKE RLIKE IN")
        else:
            known = sorted(_NUMERIC_ATTRS) + sorted(_STRING_ATTRS)
            raise _bad(fs, f"unknown attribute '{c.key}'; known: {', '.join(known)}")
    elif c.entity in ("tag", "meta"):
        if c.op not in _STRING_OPS | {"IS NULL", "IS NOT NULL"}:
            raise _bad(fs, f"{c.op} is not supported for tags/metadata")
    elif c.entity == "span":
        if c.key not in ("name", "type", "status", "content"):
            raise _bad(fs, "span keys are name, type, status, content")
        if c.key == "content" and c.op not in ("LIKE", "ILIKE"):
            raise _bad(fs, "span.content supports LIKE and ILIKE only")
    elif c.entity == "issue":
        raise _bad(fs, "issue filters are not supported by labkeep")
    return c


def _like(pattern: str, flags: int = 0) -> re.Pattern[str]:
    out = []
    for ch in pattern:
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("^" + "".join(out) + "$", flags | re.DOTALL)


def string_match(value: Any, op: str, target: Any) -> bool:
    if op == "IS NULL":
        return value is None
    if op == "IS NOT NULL":
        return value is not None
    if value is None:
        return op == "!=" or op == "NOT IN"
    value = str(value)
    if op == "=":
        return value == str(target)
    if op == "!=":
        return value != str(target)
    if op == "LIKE":
        return bool(_like(str(target)).match(value))
    if op == "ILIKE":
        return bool(_like(str(target), re.IGNORECASE).match(value))
    if op == "RLIKE":
        return re.search(str(target), value) is not None
    if op == "IN":
        return value in target
    if op == "NOT IN":
        return value not in target
    return False


def _num(value: Any, op: str, target: float) -> bool:
    if value is None:
        return False
    return {
        "=": value == target,
        "!=": value != target,
        "<": value < target,
        "<=": value <= target,
        ">": value > target,
        ">=": value >= target,
    }[op]


def clause_matches(info: Any, c: TraceClause, spans: Callable[[], list[dict]] | None = None) -> bool:
    if c.entity == "attr":
        key = c.key
        if key in _NUMERIC_ATTRS:
            if key.startswith("end_time"):
                v = info.request_time + (info.execution_duration or 0)
            else:
                v = getattr(info, _NUMERIC_ATTRS[key])
            return _num(v, c.op, c.value)
        value = {
            "request_id": info.trace_id,
            "trace_id": info.trace_id,
            "client_request_id": info.client_request_id,
            "status": info.state,
            "state": info.state,
            "name": info.name,
            "run_id": info.run_id,
            "prompt": info.request_preview,
            "text": f"{info.request_preview or ''} {info.response_preview or ''}",
        }[key]
        if key == "run_id" and c.op == "=" and value != c.value:
            linked = info.trace_metadata.get("labkeep.linkedRuns")
            return bool(linked) and c.value in json.loads(linked)
        if key == "text" and spans is not None and c.op in ("LIKE", "ILIKE", "RLIKE"):
            # the trace's whole content: previews, then every span (names, attributes, events)
            return string_match(value, c.op, c.value) or any(
                string_match(json.dumps(s), c.op, c.value) for s in spans()
            )
        return string_match(value, c.op, c.value)
    if c.entity == "tag":
        return string_match(info.tags.get(c.key), c.op, c.value)
    if c.entity == "meta":
        return string_match(info.trace_metadata.get(c.key), c.op, c.value)
    if c.entity in ("feedback", "expectation"):
        kind = c.entity
        for a in info.assessments:
            if a.kind == kind and a.name == c.key:
                v = a.value
                if (
                    isinstance(c.value, int | float)
                    and isinstance(v, int | float)
                    and not isinstance(v, bool)
                ):
                    if _num(v, c.op, c.value):
                        return True
                elif string_match(json.dumps(v) if not isinstance(v, str) else v, c.op, c.value) or (
                    isinstance(v, bool) and string_match(str(v).lower(), c.op, c.value)
                ):
                    return True
        return False
    if c.entity == "span":
        from labkeep.genai.tracing.span import SpanView

        for s in spans() if spans else []:
            view = SpanView(s)
            v = {
                "name": view.name,
                "type": view.span_type,
                "status": view.status,
                "content": json.dumps(s),
            }[c.key]
            if string_match(v, c.op, c.value):
                return True
        return False
    return False


_ORDER_KEYS = {
    "timestamp": "request_time",
    "timestamp_ms": "request_time",
    "execution_time": "execution_duration",
    "execution_time_ms": "execution_duration",
    "end_time": "end_time",
    "end_time_ms": "end_time",
    "status": "state",
    "state": "state",
    "name": "name",
    "request_id": "trace_id",
    "trace_id": "trace_id",
    "run_id": "run_id",
    "experiment_id": "experiment_id",
}


def parse_trace_order_by(order_by: list[str] | None) -> list[tuple[str, bool]]:
    out = []
    for item in order_by or []:
        words = str(item).strip().split()
        if not words or len(words) > 2:
            raise InvalidParameterValue(f"Invalid order_by clause {item!r}; use '<key> [ASC|DESC]'.")
        key = words[0]
        for prefix in ("attributes.", "attribute.", "trace.", "attr."):
            if key.startswith(prefix):
                key = key[len(prefix) :]
        if key not in _ORDER_KEYS:
            raise InvalidParameterValue(
                f"Invalid order_by key {words[0]!r}; supported: {', '.join(sorted(_ORDER_KEYS))}."
            )
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise InvalidParameterValue(f"Invalid order_by direction {words[1]!r}; use ASC or DESC.")
        out.append((_ORDER_KEYS[key], direction == "ASC"))
    return out


def sort_key_value(info: Any, field: str) -> Any:
    if field == "end_time":
        return info.request_time + (info.execution_duration or 0)
    if field == "name":
        return info.name or ""
    if field == "run_id":
        return info.run_id or ""
    if field == "experiment_id":
        return int(info.experiment_id) if str(info.experiment_id).isdigit() else 0
    v = getattr(info, field)
    return v if v is not None else 0
