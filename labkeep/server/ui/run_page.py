"""Run page (``/runs/<run_id>``): overview, description, params, metrics, tags, charts, artifacts."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from labkeep.entities import RunTag
from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.server.ui import artifacts as arts
from labkeep.server.ui.common import Ui, json_response, read_form, strip_json, wants_json
from labkeep.server.ui.logged_models import artifact_root, models_of_run, registered_names
from labkeep.server.ui.permissions import require_edit
from labkeep.server.ui.runs_table import PARENT_TAG, quote_key

NOTE_TAG = "mlflow.note.content"
SOURCE_TAGS = {
    "source": "mlflow.source.name",
    "source_type": "mlflow.source.type",
    "git_commit": "mlflow.source.git.commit",
    "git_branch": "mlflow.source.git.branch",
    "git_repo": "mlflow.source.git.repoURL",
    "entry_point": "mlflow.project.entryPoint",
}


def is_system_tag(key: str) -> bool:
    """Tags labkeep/mlflow set themselves (``mlflow.*``): shown apart and read-only."""
    return key.startswith("mlflow.")


EXACT_SUMMARY_POINTS = 20000
ACTIVE_STATUSES = ("RUNNING", "SCHEDULED")
MAX_SERIES_RUNS = 100  # per request; the compare page fetches more runs in several requests


def metric_summary(store: Any, run_id: str) -> list[dict[str, Any]]:
    """Per metric key: number of points, min and max, with work bounded per key.

    Each key's points are counted up to ``EXACT_SUMMARY_POINTS + 1`` through the
    ``(run_id, name, step, ts)`` index; keys within the limit get exact min and max from SQL.
    Longer histories are marked ``exact: False`` with ``None`` figures: the page fills them from
    the chart's downsampled series, which counts every point and whose buckets keep every point's
    min and max. The run page therefore never reads a million-point history twice.
    """
    cap = EXACT_SUMMARY_POINTS + 1
    with store.db.read() as cur:
        keys = [
            r[0]
            for r in cur.execute("SELECT name FROM latest_metrics WHERE run_id = ?", (run_id,)).fetchall()
        ]
        counts = {
            k: int(
                cur.execute(
                    # each point is stored once (the store skips identical repeats)
                    "SELECT COUNT(*) FROM (SELECT 1 FROM metrics WHERE run_id = ? AND name = ? LIMIT ?) t",
                    (run_id, k, cap),
                ).fetchone()[0]
            )
            for k in keys
        }
        small = [k for k in keys if counts[k] < cap]
        stats: dict[str, tuple] = {}
        for i in range(0, len(small), 500):
            chunk = small[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for name, lo, hi in cur.execute(
                "SELECT name, MIN(CASE WHEN kind = 0 THEN value END), MAX(CASE WHEN kind = 0 THEN value END)"
                f" FROM metrics WHERE run_id = ? AND name IN ({marks}) GROUP BY name",
                (run_id, *chunk),
            ).fetchall():
                stats[name] = (lo, hi)
    out = []
    for name in sorted(keys):
        exact = counts[name] < cap
        lo, hi = stats.get(name, (None, None))
        out.append(
            {
                "key": name,
                "min": None if lo is None else float(lo),
                "max": None if hi is None else float(hi),
                "steps": counts[name] if exact else None,
                "exact": exact,
            }
        )
    return out


def _children(ui: Ui, run: Any) -> list[dict[str, Any]]:
    found = ui.store.search_runs(
        [run.info.experiment_id], f"tags.{quote_key(PARENT_TAG)} = '{run.info.run_id}'", max_results=200
    )
    return [{"run_id": r.info.run_id, "run_name": r.info.run_name, "status": r.info.status} for r in found]


def _model_versions(ui: Ui, run_id: str) -> list[dict[str, Any]]:
    if ui.ctx.registry_store is None:
        return []
    try:
        versions = ui.ctx.registry_store.search_model_versions(f"run_id = '{run_id}'")
    except LabkeepException:
        return []
    return [
        {"name": mv.name, "version": mv.version, "stage": mv.current_stage, "aliases": mv.aliases}
        for mv in versions
    ]


def run_data(ui: Ui, run_id: str) -> dict[str, Any]:
    run = ui.store.get_run(run_id)
    info, data = run.info, run.data
    parent = None
    parent_id = data.tags.get(PARENT_TAG)
    if parent_id:
        try:
            p = ui.store.get_run(parent_id)
            parent = {"run_id": parent_id, "run_name": p.info.run_name}
        except LabkeepException:
            parent = {"run_id": parent_id, "run_name": parent_id}
    latest = data.metrics
    summary = metric_summary(ui.store, run_id)
    for m in summary:
        m["latest"] = latest.get(m["key"])
    exp = ui.store.get_experiment(info.experiment_id)
    logged = models_of_run(ui, run)
    return {
        "run": run.to_dict(),
        "info": {**info.to_dict(), "end_time": info.end_time, "start_time": info.start_time},
        "active": info.status in ACTIVE_STATUSES,
        "experiment": {"experiment_id": exp.experiment_id, "name": exp.name},
        "description": data.tags.get(NOTE_TAG, ""),
        "params": sorted(data.params.items()),
        "tags": sorted((k, v) for k, v in data.tags.items() if k != NOTE_TAG and not is_system_tag(k)),
        "system_tags": sorted((k, v) for k, v in data.tags.items() if k != NOTE_TAG and is_system_tag(k)),
        "metrics": summary,
        "parent": parent,
        "children": _children(ui, run),
        "model_versions": _model_versions(ui, run_id),
        "source": {k: data.tags.get(t) for k, t in SOURCE_TAGS.items()},
        "datasets": [d.to_dict() for d in run.inputs.dataset_inputs],
        "logged_models": logged,
        "registered_names": registered_names(ui) if logged else [],  # only the register form uses them
    }


def run_page(ui: Ui, request: Request, run_id: str) -> Response:
    run_id = strip_json(request, run_id)
    data = run_data(ui, run_id)
    from labkeep.server.ui.permissions import can_edit

    if wants_json(request):
        return ui.page(request, "run.html", data)
    return ui.page(request, "run.html", {**data, "editable": can_edit(request, ("run", run_id))})


async def run_action(ui: Ui, request: Request, run_id: str) -> Response:
    """POST /runs/<id>/action: description | set_tag | delete_tag | delete | restore."""
    form = await read_form(request)
    action = str(form.get("action", ""))
    key = str(form.get("key", "")).strip()
    value = str(form.get("value", ""))

    def do() -> Response:
        require_edit(request, ("run", run_id))
        store = ui.store
        if action == "description":
            store.set_tag(run_id, RunTag(NOTE_TAG, value))
        elif action == "set_tag":
            if not key:
                raise InvalidParameterValue("A tag needs a key.")
            store.set_tag(run_id, RunTag(key, value))
        elif action == "delete_tag":
            store.delete_tag(run_id, key)
        elif action == "delete":
            store.delete_run(run_id)
        elif action == "restore":
            store.restore_run(run_id)
        else:
            raise InvalidParameterValue(f"Unknown action {action!r}.")
        return ui.redirect(f"/runs/{run_id}")

    return await anyio.to_thread.run_sync(do)


# ---------------------------------------------------------------- JSON islands


def live_api(ui: Ui, request: Request) -> Response:
    """What a watched (running) run's page refreshes: status, times and the metric summary."""
    run = ui.store.get_run(request.query_params.get("run_id", ""))
    summary = metric_summary(ui.store, run.info.run_id)
    for m in summary:
        m["latest"] = run.data.metrics.get(m["key"])
    return json_response(
        {
            "status": run.info.status,
            "active": run.info.status in ACTIVE_STATUSES,
            "start_time": run.info.start_time,
            "end_time": run.info.end_time,
            "metrics": summary,
        }
    )


def artifacts_api(ui: Ui, request: Request) -> Response:
    """Files below a run's (``run_id=``) or a logged model's (``model_id=``) artifact root."""
    root, _, _ = artifact_root(ui, request)
    path = request.query_params.get("path", "")
    return json_response({"root_uri": root, "files": arts.list_artifacts(ui.ctx, root, path)})


def preview_api(ui: Ui, request: Request) -> Response:
    root, owner, label = artifact_root(ui, request)
    data = arts.preview(ui.ctx, root, request.query_params.get("path", ""), label)
    data["raw_url"] = ui.url("/ui-api/artifact-raw", **owner, path=data["path"])
    if request.query_params.get("format") == "json" or "application/json" in request.headers.get(
        "accept", ""
    ):
        return json_response(data)
    return ui.render("_preview.html", {"p": data})


def raw_api(ui: Ui, request: Request) -> Response:
    root, _, _ = artifact_root(ui, request)
    return arts.raw_response(
        ui.ctx, root, request.query_params.get("path", ""), request.query_params.get("download") == "1"
    )


def series_api(ui: Ui, request: Request) -> Response:
    from labkeep.server.ui.series import DEFAULT_MAX_POINTS, series_for_runs

    qp = request.query_params
    run_ids = [r for r in qp.get("run_ids", "").split(",") if r][:MAX_SERIES_RUNS]
    keys = [k for k in qp.getlist("key") if k]
    if not run_ids or not keys:
        raise InvalidParameterValue("metric-series needs run_ids=<id,…> and key=<metric key>.")
    try:
        max_points = int(qp.get("max_points", DEFAULT_MAX_POINTS))
    except ValueError:
        raise InvalidParameterValue("max_points must be an integer.")
    out = []
    for key in keys[:20]:
        out += series_for_runs(ui.store, run_ids, key, max_points, _window(qp))
    return json_response({"series": out})


def _window(qp: Any) -> tuple[str, int, int] | None:
    """``x_axis`` (step | time | relative) with ``x_min``/``x_max`` (steps, or ms) → a series window."""
    if qp.get("x_min") is None and qp.get("x_max") is None:
        return None
    axis = {"step": "step", "time": "ts", "relative": "relative"}.get(qp.get("x_axis", "step"))
    if axis is None:
        raise InvalidParameterValue("x_axis must be step, time or relative.")
    try:
        lo = int(float(qp.get("x_min", -(2**62))))
        hi = int(float(qp.get("x_max", 2**62)))
    except ValueError:
        raise InvalidParameterValue("x_min and x_max must be numbers.")
    if lo > hi:
        raise InvalidParameterValue("x_min must not be larger than x_max.")
    return axis, lo, hi
