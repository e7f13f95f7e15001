"""Small helpers for CLI output: aligned tables and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)


def format_ms(ms: int | None) -> str:
    if ms is None:
        return ""
    import datetime

    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
