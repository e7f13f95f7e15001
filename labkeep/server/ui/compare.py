"""Compare runs (``/compare?runs=a,b,c`` or ``/compare?experiment_id=1&filter=…``): params and
metrics side by side (runs as columns, or as rows for sweeps), line charts for metric histories,
bar/scatter charts for metrics logged once per run, parallel coordinates and a scatter plot."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labkeep.entities import ViewType
from labkeep.exceptions import InvalidParameterValue
from labkeep.server.ui.common import Ui

MAX_COMPARE = 500
ROWS_LAYOUT_FROM = 11  # more runs than this: one row per run (a column per run gets too wide)


def _rows(runs: list[Any], attr: str) -> list[dict[str, Any]]:
    keys = sorted({k for r in runs for k in getattr(r.data, attr)})
    out = []
    for k in keys:
        values = [getattr(r.data, attr).get(k) for r in runs]
        present = [v for v in values if v is not None]
        differs = len(present) != len(values) or len({str(v) for v in present}) > 1
        out.append({"key": k, "vals": values, "differs": differs})
    return out


def single_step_keys(store: Any, runs: list[Any], keys: list[str]) -> set[str]:
    """Metric keys logged at one step only in every run that has them (a sweep's final score).

    Two index seeks per (run, key) -- the first and the last step -- so long histories cost
    nothing extra. A copy of a point tied to a logged model shares its step and is not a step.
    """
    multi: set[str] = set()
    first = "SELECT step FROM metrics WHERE run_id = ? AND name = ? ORDER BY step LIMIT 1"
    last = "SELECT step FROM metrics WHERE run_id = ? AND name = ? ORDER BY step DESC LIMIT 1"
    with store.db.read() as cur:
        for k in keys:
            for r in runs:
                if k not in r.data.metrics:
                    continue
                lo = cur.execute(first, (r.info.run_id, k)).fetchone()
                hi = cur.execute(last, (r.info.run_id, k)).fetchone()
                if lo is not None and hi is not None and lo[0] != hi[0]:
                    multi.add(k)
                    break
    return set(keys) - multi


def _load_runs(ui: Ui, request: Request) -> tuple[list[Any], str]:
    """The runs to compare and a description of where they came from."""
    qp = request.query_params
    ids = [r for r in qp.get("runs", "").replace(" ", "").split(",") if r]
    if ids:
        return [ui.store.get_run(i) for i in dict.fromkeys(ids[:MAX_COMPARE])], ""
    exp_id = qp.get("experiment_id", "")
    if not exp_id:
        raise InvalidParameterValue(
            "Pick runs to compare: /compare?runs=<run_id>,<run_id>,… or /compare?experiment_id=<id>&filter=…"
        )
    exp = ui.store.get_experiment(exp_id)
    flt = qp.get("filter", "").strip()
    runs = list(ui.store.search_runs([exp.experiment_id], flt, ViewType.ACTIVE_ONLY, max_results=MAX_COMPARE))
    return runs, f"{exp.name}" + (f" where {flt}" if flt else "")


def compare_page(ui: Ui, request: Request) -> Response:
    runs, source = _load_runs(ui, request)
    metrics = _rows(runs, "metrics")
    single = single_step_keys(ui.store, runs, [m["key"] for m in metrics])
    for m in metrics:
        m["single"] = m["key"] in single
    layout = request.query_params.get("layout") or ("rows" if len(runs) >= ROWS_LAYOUT_FROM else "columns")
    if layout not in ("rows", "columns"):
        raise InvalidParameterValue("layout must be rows or columns.")
    data = {
        "runs": [
            {
                "run_id": r.info.run_id,
                "run_name": r.info.run_name,
                "experiment_id": r.info.experiment_id,
                "status": r.info.status,
                "start_time": r.info.start_time,
                "end_time": r.info.end_time,
            }
            for r in runs
        ],
        "params": _rows(runs, "params"),
        "metrics": metrics,
        "layout": layout,
        "source": source,
        "capped": len(runs) >= MAX_COMPARE,
        "max_compare": MAX_COMPARE,
        "layout_urls": {
            k: ui.url("/compare", **{**dict(request.query_params), "layout": k}) for k in ("rows", "columns")
        },
    }
    return ui.page(request, "compare.html", data)
