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
    counts = run_counts(ui.store, [e.experiment_id for e in exps])
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
                "last_activity": last or None,
                "creation_time": e.creation_time,
                "tags": e.tags,
            }
        )
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

        if action == "create":
            if not name:
                raise InvalidParameterValue("Give the new experiment a name.")
            new_id = ui.store.create_experiment(name)
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
