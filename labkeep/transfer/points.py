"""A run's metric points kept in the row form labkeep's ``metrics`` table stores.

A reader that can select points already shaped as rows (run_id, key, step, timestamp, stored
value, kind, model_id, dataset_name, dataset_digest) hands them over in ``StoredPoints``: the SQL
sink inserts the rows as they are, with no Python object made per point, while every other
consumer still sees the record format's ``[key, value, timestamp, step]`` points.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from labkeep.utils.validation import decode_metric_value


class StoredPoints(Sequence):
    """The points of one run as stored rows; iterating yields record points ``[key, value, ts, step]``."""

    __slots__ = ("rows",)

    def __init__(self, rows: list[tuple]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[list[Any]]:
        for _run, key, step, ts, value, kind, *_ in self.rows:
            yield [key, value if kind == 0 else decode_metric_value(value, kind), ts, step]

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return StoredPoints(self.rows[i])
        _run, key, step, ts, value, kind, *_ = self.rows[i]
        return [key, value if kind == 0 else decode_metric_value(value, kind), ts, step]

    def __repr__(self) -> str:
        return f"StoredPoints({len(self.rows)} points)"


def stored_rows(run_id: str, points: Sequence) -> list[tuple] | None:
    """The rows of ``points`` when they are already stored rows of run ``run_id`` (else None)."""
    if isinstance(points, StoredPoints) and (not points.rows or points.rows[0][0] == run_id):
        return points.rows
    return None
