"""Experiments page (``/``): list with run counts and last activity; create, rename, delete, restore."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labkeep.entities import ViewType
from labkeep.server.ui.common import Ui, read_form


def run_counts(store: Any, exp_ids: list[str]) -> dict[str, tuple[int, int | None]]:
    """experiment id → (active runs, latest start time); one grouped query on the runs index."""
    if not exp_ids:
        return {}
    marks = ",".join("?" * len(exp_ids))
    with store.db.read() as cur:
        rows = cur.execute(
            "SELECT experiment_id, COUNT(*), MAX(start_time) FROM runs"
            f" WHERE experiment_id IN ({marks}) AND lifecycle_stage = 'active' GROUP BY experiment_id",
            [int(e) for e in exp_ids],
        ).fetchall()
    return {str(r[0]): (int(r[1]), None if r[2] is None else int(r[2])) for r in rows}


def _grouped_counts(store: Any, table: str, exp_ids: list[str], extra: str = "") -> dict[str, int]:
    """experiment id → rows of ``table`` (traces, logged_models) in it; {} when the store has none."""
    if not exp_ids or getattr(store, "db", None) is None:
        return {}
    marks = ",".join("?" * len(exp_ids))
    try:
        with store.db.read() as cur:
            rows = cur.execute(
                f"SELECT experiment_id, COUNT(*) FROM {table} WHERE experiment_id IN ({marks}){extra}"
                " GROUP BY experiment_id",
                [int(e) for e in exp_ids],
            ).fetchall()
    except Exception:  # noqa: BLE001 - an older schema without the table: no counts, no error page
        return {}
    return {str(r[0]): int(r[1]) for r in rows}


def trace_counts(store: Any, exp_ids: list[str]) -> dict[str, int]:
    return _grouped_counts(store, "traces", exp_ids)


def model_counts(store: Any, exp_ids: list[str]) -> dict[str, int]:
    return _grouped_counts(store, "logged_models", exp_ids, " AND lifecycle_stage = 'active'")


def tabs(ui: Ui, experiment: Any, active: str) -> dict[str, Any]:
    """The Runs / Traces / Models tab strip of one experiment, with counts.

    Counting 100k runs takes a covering-index scan, so the runs count is not computed here:
    the page fills it from ``/ui-api/run-count`` (the number the runs table shows too).
    Traces and logged models are counted at once (they are few, or indexed by experiment).
    """
    eid = experiment.experiment_id
    return {
        "active": active,
        "experiment_id": eid,
        "runs": None,
        "runs_count_url": ui.url("/ui-api/run-count", experiment_id=eid, nested="0"),  # all runs, as listed
        "traces": trace_counts(ui.store, [eid]).get(eid, 0),
        "models": model_counts(ui.store, [eid]).get(eid, 0),
    }


def logged_models_page(ui: Ui, request: Request, experiment_id: str) -> Response:
    """``/experiments/<id>/models``: the experiment's logged models, newest first."""
    from labkeep.server.ui.common import strip_json

    experiment_id = strip_json(request, experiment_id)
    exp = ui.store.get_experiment(experiment_id)
    found = ui.store.search_logged_models(
        [exp.experiment_id],
        max_results=500,
        order_by=[{"field_name": "creation_timestamp", "ascending": False}],
    )
    rows = [
        {
            "model_id": m.model_id,
            "name": m.name,
            "status": m.status.replace("LOGGED_MODEL_", ""),
            "source_run_id": m.source_run_id,
            "creation_timestamp": m.creation_timestamp,
            "model_type": m.model_type,
        }
        for m in found
    ]
    data = {"experiment": exp.to_dict(), "models": rows, "tabs": tabs(ui, exp, "models")}
    return ui.page(request, "logged_models.html", data)


def experiments_page(ui: Ui, request: Request) -> Response:
    q = request.query_params.get("q", "").strip()
    view = request.query_params.get("view", "active")
    view_type = {"deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}.get(view, ViewType.ACTIVE_ONLY)
    filt = None
    if q:
        filt = "name ILIKE '%" + q.replace("'", "\\'") + "%'" if "'" not in q else None
    exps = list(ui.store.search_experiments(view_type=view_type, max_results=1000, filter_string=filt))
    if q and filt is None:  # a quote in the search text: filter here instead of in the grammar
        exps = [e for e in exps if q.lower() in e.name.lower()]
    from labkeep.server.ui.permissions import readable

    exps = readable(request, "experiment", exps, lambda e: e.experiment_id)
    ids = [e.experiment_id for e in exps]
    counts = run_counts(ui.store, ids)
    traces, models = trace_counts(ui.store, ids), model_counts(ui.store, ids)
    rows = []
    for e in exps:
        n, last_start = counts.get(e.experiment_id, (0, None))
        last = max(x for x in (last_start, e.last_update_time, e.creation_time, 0) if x is not None)
        rows.append(
            {
                "experiment_id": e.experiment_id,
                "name": e.name,
                "lifecycle_stage": e.lifecycle_stage,
                "artifact_location": e.artifact_location,
                "run_count": n,
                "trace_count": traces.get(e.experiment_id, 0),
                "model_count": models.get(e.experiment_id, 0),
                "last_activity": last or None,
                "creation_time": e.creation_time,
                "tags": e.tags,
            }
        )
    if request.scope.get("user") is not None:  # auth on: offer only the actions the user may take
        from labkeep.server.ui.permissions import can_edit

        for row in rows:
            row["editable"] = can_edit(request, ("experiment", row["experiment_id"]))
            row["deletable"] = can_edit(request, ("experiment", row["experiment_id"], "delete"))
    data = {"experiments": rows, "q": q, "view": view}
    return ui.page(request, "experiments.html", data)


async def experiment_action(ui: Ui, request: Request) -> Response:
    """POST /experiments/action: create | rename | delete | restore (form fields)."""
    import anyio.to_thread

    form = await read_form(request)
    action = str(form.get("action", ""))
    exp_id = str(form.get("experiment_id", ""))
    name = str(form.get("name", "")).strip()

    def do() -> Response:
        from labkeep.exceptions import InvalidParameterValue
        from labkeep.server.ui.permissions import created, require_edit

        deleting = ("delete",) if action in ("delete", "restore") else ()
        require_edit(request, ("experiment", exp_id or name, *deleting))
        if action == "create":
            if not name:
                raise InvalidParameterValue("Give the new experiment a name.")
            new_id = ui.store.create_experiment(name)
            created(request, ("experiment", str(new_id)))
            return ui.redirect(f"/experiments/{new_id}")
        if action == "rename":
            if not name:
                raise InvalidParameterValue("Give the experiment a new name.")
            ui.store.rename_experiment(exp_id, name)
        elif action == "delete":
            ui.store.delete_experiment(exp_id)
        elif action == "restore":
            ui.store.restore_experiment(exp_id)
            return ui.redirect("/", view="deleted")
        else:
            raise InvalidParameterValue(f"Unknown action {action!r}.")
        return ui.redirect("/")

    return await anyio.to_thread.run_sync(do)
