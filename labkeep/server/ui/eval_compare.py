"""Evaluation tables side by side (``/compare-eval?runs=a,b&table=eval_results_table.json``).

For each input row: every run's answer, error and scores (from ``labkeep.genai.eval_compare``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labkeep.exceptions import InvalidParameterValue
from labkeep.genai.eval_compare import parse_table, side_by_side
from labkeep.server.ui.common import Ui

MAX_RUNS = 10
MAX_TABLE_BYTES = 50 * 1024 * 1024
DEFAULT_TABLES = ("eval_results_table.json", "eval_results.json")


def _read_table(ui: Ui, run: Any, name: str) -> dict[str, Any] | None:
    from labkeep.artifacts.paths import safe_request_path as safe_relative_path
    from labkeep.server.api.artifacts import resolve_uri

    rel = safe_relative_path(name, "table path")
    store, prefix = resolve_uri(ui.ctx, run.info.artifact_uri)
    path = "/".join(p for p in (prefix, rel) if p)
    if store.kind(path) != "file" or store.size(path) > MAX_TABLE_BYTES:
        return None
    try:
        return parse_table(b"".join(store.iter_bytes(path)))
    except ValueError:
        return None


def eval_compare_page(ui: Ui, request: Request) -> Response:
    ids = [r for r in request.query_params.get("runs", "").replace(" ", "").split(",") if r]
    if not ids:
        raise InvalidParameterValue("Pick runs: /compare-eval?runs=<run_id>,<run_id>[&table=<artifact>]")
    runs = [ui.store.get_run(i) for i in list(dict.fromkeys(ids))[:MAX_RUNS]]
    table = request.query_params.get("table") or None
    tables = []
    for run in runs:
        names = [table] if table else list(DEFAULT_TABLES)
        found = None
        for name in names:
            found = _read_table(ui, run, name)
            if found is not None:
                break
        tables.append(found)
    data = {
        "runs": [
            {"run_id": r.info.run_id, "run_name": r.info.run_name, "has_table": t is not None}
            for r, t in zip(runs, tables, strict=True)
        ],
        "table": table,
        **side_by_side(tables, request.query_params.get("key") or None),
    }
    return ui.page(request, "eval_compare.html", data)
