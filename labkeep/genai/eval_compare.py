"""Evaluation tables of several runs side by side: the same input, each run's answer and scores.

Tables are ``log_table``'s split JSON (``{"columns": [...], "data": [[...], ...]}``) as written by
``labkeep.evaluate`` (``eval_results_table.json``) and ``labkeep.genai.evaluate``
(``eval_results.json``). Rows are matched on a key column (default: the first column).
"""

from __future__ import annotations

import json
from typing import Any

OUTPUT_COLUMNS = ("outputs", "output", "prediction", "response", "answer")
_NOT_SCORES = {"latency", "error", "trace_id", "token_count", "input_token_count", "cost"}


def parse_table(raw: bytes | str) -> dict[str, Any]:
    obj = json.loads(raw)
    if (
        not isinstance(obj, dict)
        or not isinstance(obj.get("columns"), list)
        or not isinstance(obj.get("data"), list)
    ):
        raise ValueError("not a log_table JSON table (expected columns and data)")
    return obj


def _key(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def side_by_side(
    tables: list[dict[str, Any] | None], key: str | None = None, max_rows: int = 1000
) -> dict[str, Any]:
    """``{"key": col, "score_columns": [...], "rows": [{"key": k, "cells": [cell per table]}]}``.

    A cell is ``None`` when that table lacks the row, else ``{"output", "error", "scores": {...}}``.
    """
    present = [t for t in tables if t]
    if not present:
        return {"key": key, "score_columns": [], "rows": []}
    key = key or present[0]["columns"][0]
    scores: list[str] = []
    indexed: list[dict[str, dict[str, Any]] | None] = []
    order: dict[str, None] = {}
    for t in tables:
        if not t or key not in t["columns"]:
            indexed.append(None)
            continue
        cols = t["columns"]
        out_col = next((c for c in OUTPUT_COLUMNS if c in cols), None)
        score_cols = [
            c
            for c in cols
            if c not in (key, out_col)
            and c not in _NOT_SCORES
            and not c.endswith(("/rationale", "/error"))
            and any(isinstance(r[cols.index(c)], int | float | bool) for r in t["data"][:50])
        ]
        for c in score_cols:
            if c not in scores:
                scores.append(c)
        rows: dict[str, dict[str, Any]] = {}
        for r in t["data"]:
            rec = dict(zip(cols, r, strict=False))
            k = _key(rec.get(key))
            order.setdefault(k)
            rows[k] = {
                "output": rec.get(out_col) if out_col else None,
                "error": rec.get("error"),
                "scores": {c: rec.get(c) for c in score_cols},
                "rationales": {c: rec.get(f"{c}/rationale") for c in score_cols if rec.get(f"{c}/rationale")},
            }
        indexed.append(rows)
    out_rows = []
    for k in list(order)[:max_rows]:
        out_rows.append({"key": k, "cells": [None if idx is None else idx.get(k) for idx in indexed]})
    return {"key": key, "score_columns": scores, "rows": out_rows}
