"""Records as JSON for the wire and for files: NaN and infinities travel as strings."""

from __future__ import annotations

from typing import Any

from labkeep.transfer.records import encode_value


def encode_record(kind: str, rec: dict[str, Any]) -> dict[str, Any]:
    if kind in ("run", "logged_model"):
        rec = dict(rec, metrics=[[p[0], encode_value(float(p[1])), *p[2:]] for p in rec["metrics"]])
    return rec


def decode_record(kind: str, rec: dict[str, Any]) -> dict[str, Any]:
    if kind in ("run", "logged_model"):
        rec = dict(rec, metrics=[[p[0], float(p[1]), *p[2:]] for p in rec.get("metrics") or []])
        rec.setdefault("params", {})
        rec.setdefault("tags", {})
    return rec
