"""Compare runs (``/compare?runs=a,b,c``): params and metrics side by side, charts, plots."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labkeep.exceptions import InvalidParameterValue
from labkeep.server.ui.common import Ui

MAX_COMPARE = 100


def _rows(runs: list[Any], attr: str) -> list[dict[str, Any]]:
    keys = sorted({k for r in runs for k in getattr(r.data, attr)})
    out = []
    for k in keys:
        values = [getattr(r.data, attr).get(k) for r in runs]
        present = [v for v in values if v is not None]
        differs = len(present) != len(values) or len({str(v) for v in present}) > 1
        out.append({"key": k, "vals": values, "differs": differs})
    return out


def compare_page(ui: Ui, request: Request) -> Response:
    ids = [r for r in request.query_params.get("runs", "").replace(" ", "").split(",") if r]
    if len(ids) < 1:
        raise InvalidParameterValue("Pick runs to compare: /compare?runs=<run_id>,<run_id>,…")
    runs = [ui.store.get_run(i) for i in dict.fromkeys(ids[:MAX_COMPARE])]
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
        "metrics": _rows(runs, "metrics"),
    }
    return ui.page(request, "compare.html", data)
