"""Helpers for the search SQL tests: rows as the SQL store writes them, queries."""

from __future__ import annotations

import math

FLOAT_MAX = 1.7976931348623157e308


def metric_row(value: float) -> tuple[float, int]:
    """(stored value, kind) as the SQL store keeps them."""
    if math.isnan(value):
        return 0.0, 1
    if math.isinf(value):
        return (FLOAT_MAX, 2) if value > 0 else (-FLOAT_MAX, 3)
    return value, 0


def insert(db, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    with db.write() as cur:
        cur.executemany(sql, [tuple(r[c] for c in cols) for r in rows])


def query(db, built: tuple[str, list]) -> list:
    sql, params = built
    with db.read() as cur:
        rows = cur.execute(sql, params).fetchall()
    return [r[0] if len(r) == 1 else tuple(r) for r in rows]
