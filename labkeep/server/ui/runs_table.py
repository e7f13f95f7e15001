"""Runs table of an experiment (``/experiments/<id>``): one page of rows, sorted and filtered in SQL.

Only the requested page is loaded (``search_runs`` with an offset page token), so the page costs
the same at 100 or 100,000 runs. Sorting uses ``search_runs``'s ``order_by`` for every column it
knows; duration (end - start) is ordered here with one extra SQL statement. The total count
(a scan of every matching run) is not part of the HTML page: the page fetches it afterwards from
``/ui-api/run-count``. Grouping is one SQL statement around the same filtered selection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labkeep.entities import LifecycleStage, Run, ViewType
from labkeep.exceptions import LabkeepException
from labkeep.server.ui.common import Ui, fmt_value, strip_json, wants_json
from labkeep.server.ui.experiments import tabs

PARENT_TAG = "mlflow.parentRunId"
ATTR_SORTS = {
    "start_time": "attributes.start_time",
    "end_time": "attributes.end_time",
    "run_name": "attributes.run_name",
    "status": "attributes.status",
    "user_id": "attributes.user_id",
    "run_id": "attributes.run_id",
}
MAX_PER_PAGE = 1000
MAX_CHILDREN_PER_PARENT = 50
AUTO_COLUMNS = 8


def quote_key(key: str) -> str:
    return "`" + key.replace("`", "") + "`"


def column_order(col: str) -> str | None:
    """A column id (``metrics.rmse``, ``params.alpha``, ``tags.x``, ``start_time``…) → order_by entity."""
    if col in ATTR_SORTS:
        return ATTR_SORTS[col]
    kind, _, key = col.partition(".")
    if kind in ("metrics", "params", "tags") and key:
        return f"{kind}.{quote_key(key)}"
    return None


def quote_value(value: str) -> str:
    """A string literal for the search grammar (double quotes when the value holds a single one)."""
    if "'" not in value:
        return f"'{value}'"
    return '"' + value.replace('"', "") + '"'


@dataclass
class TableQuery:
    """The runs table's URL state."""

    experiment_id: str
    filter: str = ""
    sort: str = "start_time"
    desc: bool = True
    page: int = 1
    per: int = 100
    cols: list[str] | None = None
    nested: bool = True
    group: str = ""
    view: str = "active"

    @classmethod
    def from_request(cls, request: Request, experiment_id: str) -> TableQuery:
        qp = request.query_params

        def int_arg(name: str, default: int, lo: int, hi: int) -> int:
            try:
                return max(lo, min(hi, int(qp.get(name, default))))
            except ValueError:
                return default

        cols = qp.get("cols")
        return cls(
            experiment_id=experiment_id,
            filter=qp.get("filter", "").strip(),
            sort=qp.get("sort", "start_time") or "start_time",
            desc=qp.get("dir", "desc") != "asc",
            page=int_arg("page", 1, 1, 10**7),
            per=int_arg("per", 100, 1, MAX_PER_PAGE),
            cols=[c for c in cols.split(",") if c] if cols is not None else None,
            nested=qp.get("nested", "1") != "0",
            group=qp.get("group", "").strip(),
            view=qp.get("view", "active"),
        )

    @property
    def view_type(self) -> int:
        return {"deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}.get(self.view, ViewType.ACTIVE_ONLY)

    def state(self) -> dict[str, Any]:
        return {
            "filter": self.filter,
            "sort": self.sort,
            "dir": "desc" if self.desc else "asc",
            "page": self.page,
            "per": self.per,
            "cols": ",".join(self.cols) if self.cols is not None else None,
            "nested": "1" if self.nested else "0",
            "group": self.group,
            "view": self.view,
        }


def _offset_token(offset: int) -> str | None:
    from labkeep import search

    return search.make_page_token(offset) if offset else None


def _base_sql(store: Any, q: TableQuery, filter_string: str) -> tuple[str, list[Any]]:
    """The filtered run ids as one unordered SQL statement (merged into the aggregates around it)."""
    from labkeep import search

    return search.build_runs_selection(
        [q.experiment_id], LifecycleStage.for_view(q.view_type), filter_string, store.db.dialect
    )


def count_runs(store: Any, q: TableQuery, filter_string: str) -> int:
    with store.db.read() as cur:
        if not filter_string:
            stages = LifecycleStage.for_view(q.view_type)
            marks = ",".join("?" * len(stages))
            sql = f"SELECT COUNT(*) FROM runs WHERE experiment_id = ? AND lifecycle_stage IN ({marks})"
            return int(cur.execute(sql, [int(q.experiment_id), *stages]).fetchone()[0])
        sql, params = _base_sql(store, q, filter_string)
        return int(cur.execute(f"SELECT COUNT(*) FROM ({sql}) t", params).fetchone()[0])


def _runs_by_ids(store: Any, q: TableQuery, ids: list[str]) -> list[Run]:
    if not ids:
        return []
    flt = "attributes.run_id IN (" + ", ".join(f"'{i}'" for i in ids) + ")"
    found = {
        r.info.run_id: r
        for r in store.search_runs([q.experiment_id], flt, ViewType.ALL, max_results=len(ids))
    }
    return [found[i] for i in ids if i in found]


def _duration_page(store: Any, q: TableQuery, filter_string: str, offset: int) -> tuple[list[Run], bool]:
    from labkeep.utils.clock import now_ms

    order = "DESC" if q.desc else "ASC"
    if not filter_string:  # one scan of the experiment's runs, no join
        stages = LifecycleStage.for_view(q.view_type)
        marks = ",".join("?" * len(stages))
        sql = (
            f"SELECT run_id FROM runs WHERE experiment_id = ? AND lifecycle_stage IN ({marks})"
            f" ORDER BY (COALESCE(end_time, ?) - start_time) {order}, run_id LIMIT ? OFFSET ?"
        )
        with store.db.read() as cur:
            args = [int(q.experiment_id), *stages, now_ms(), q.per + 1, offset]
            ids = [r[0] for r in cur.execute(sql, args).fetchall()]
        return _runs_by_ids(store, q, ids[: q.per]), len(ids) > q.per
    sql, params = _base_sql(store, q, filter_string)
    page_sql = (
        f"SELECT r.run_id FROM runs r JOIN ({sql}) f ON f.run_id = r.run_id"
        f" ORDER BY (COALESCE(r.end_time, ?) - r.start_time) {order}, r.run_id LIMIT ? OFFSET ?"
    )
    with store.db.read() as cur:
        ids = [r[0] for r in cur.execute(page_sql, [*params, now_ms(), q.per + 1, offset]).fetchall()]
    return _runs_by_ids(store, q, ids[: q.per]), len(ids) > q.per


def load_page(store: Any, q: TableQuery, filter_string: str) -> tuple[list[Run], bool]:
    """(runs of the requested page, whether a next page exists)."""
    offset = (q.page - 1) * q.per
    if q.sort == "duration":
        return _duration_page(store, q, filter_string, offset)
    order = column_order(q.sort)
    if order is None:
        raise LabkeepException(f"Cannot sort by {q.sort!r}.", error_code="INVALID_PARAMETER_VALUE")
    page = store.search_runs(
        [q.experiment_id],
        filter_string,
        q.view_type,
        max_results=q.per,
        order_by=[f"{order} {'DESC' if q.desc else 'ASC'}"],
        page_token=_offset_token(offset),
    )
    return list(page), page.token is not None


_INDEX_HINTS: dict[int, str] = {}


def _tag_name_index_hint(store: Any) -> str:
    """`` INDEXED BY <index>`` for an SQLite index on tags' ``(name, value)`` (else "").

    SQLite's statistics average over all tag names, so for a rare name such as the parent-run tag
    it prefers scanning every tag; the hint makes it seek. The index is looked up, not assumed.
    """
    if store.db.dialect != "sqlite":
        return ""
    key = id(store)
    if key not in _INDEX_HINTS:
        hint = ""
        with store.db.read() as cur:
            for row in cur.execute("PRAGMA index_list(tags)").fetchall():
                cols = [c[2] for c in cur.execute(f"PRAGMA index_info({row[1]})").fetchall()]
                if cols[:2] in (["name", "value"], ["name"]):
                    hint = f" INDEXED BY {row[1]}"
                    break
        _INDEX_HINTS[key] = hint
    return _INDEX_HINTS[key]


_COVERING: dict[tuple[int, str, str], str] = {}


def _covering_hint(store: Any, table: str) -> str:
    """`` INDEXED BY ix_<table>_name_run`` on SQLite when the store has it (revision 0003_ui).

    Grouping probes each run's value in ``(name, run_id, …value)``; without fresh statistics
    SQLite takes the primary key instead and reads every row from the table as well.
    """
    if store.db.dialect != "sqlite":
        return ""
    key = (id(store), getattr(store.db, "path", ""), table)
    if key not in _COVERING:
        index = f"ix_{table}_name_run"
        with store.db.read() as cur:
            found = cur.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (index,)
            ).fetchone()
        _COVERING[key] = f" INDEXED BY {index}" if found else ""
    return _COVERING[key]


def has_nested(store: Any, experiment_id: str) -> bool:
    """Whether any run of the experiment has a parent (drives the nested view).

    Starts from the parent tags (few, through the tag-name index) and checks their runs, rather
    than walking the experiment's runs.
    """
    hint = _tag_name_index_hint(store)
    with store.db.read() as cur:
        row = cur.execute(
            f"SELECT 1 FROM tags t{hint} WHERE t.name = ? AND EXISTS"
            " (SELECT 1 FROM runs r WHERE r.run_id = t.run_id AND r.experiment_id = ?) LIMIT 1",
            (PARENT_TAG, int(experiment_id)),
        ).fetchone()
    return row is not None


def child_counts(store: Any, parent_ids: list[str]) -> dict[str, int]:
    """Number of child runs per parent, from the parent-tag index (no run rows are read)."""
    if not parent_ids:
        return {}
    marks = ",".join("?" * len(parent_ids))
    with store.db.read() as cur:
        return {
            r[0]: int(r[1])
            for r in cur.execute(
                f"SELECT value, COUNT(*) FROM tags{_tag_name_index_hint(store)} WHERE name = ? AND value IN ({marks})"
                " GROUP BY value",
                [PARENT_TAG, *parent_ids],
            ).fetchall()
        }


def children_of(store: Any, q: TableQuery, parent_id: str) -> list[Run]:
    """Up to ``MAX_CHILDREN_PER_PARENT`` child runs of one parent, oldest first.

    Loaded when the user expands a parent (``/ui-api/children``): a sweep parent with 100,000
    children costs one short index range, and the page itself carries only the counts.
    """
    with store.db.read() as cur:
        ids = [
            r[0]
            for r in cur.execute(
                f"SELECT run_id FROM tags{_tag_name_index_hint(store)} WHERE name = ? AND value = ?"
                f" LIMIT {MAX_CHILDREN_PER_PARENT}",
                (PARENT_TAG, parent_id),
            ).fetchall()
        ]
    runs = [
        r
        for r in _runs_by_ids(store, q, ids)
        if r.info.lifecycle_stage in LifecycleStage.for_view(q.view_type)
    ]
    runs.sort(key=lambda r: r.info.start_time or 0)
    return runs


def distinct_keys(store: Any, experiment_id: str, sample: int = 2000) -> dict[str, list[str]]:
    """Metric, param and tag names of the experiment's latest ``sample`` runs (for the column picker)."""
    out: dict[str, list[str]] = {}
    recent = (
        "SELECT run_id FROM runs WHERE experiment_id = ? AND lifecycle_stage = 'active'"
        " ORDER BY start_time DESC LIMIT ?"
    )
    with store.db.read() as cur:
        run_ids = [r[0] for r in cur.execute(recent, (int(experiment_id), sample)).fetchall()]
        for kind, table in (("metrics", "latest_metrics"), ("params", "params"), ("tags", "tags")):
            names: set[str] = set()
            for i in range(0, len(run_ids), 500):
                chunk = run_ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                names.update(
                    r[0]
                    for r in cur.execute(
                        f"SELECT DISTINCT name FROM {table} WHERE run_id IN ({marks})", chunk
                    ).fetchall()
                )
            out[kind] = sorted(names)
    return out


def run_row(run: Run, cols: list[str]) -> dict[str, Any]:
    info, data = run.info, run.data
    metrics = data.metrics
    cells = []
    for c in cols:
        kind, _, key = c.partition(".")
        sources: dict[str, dict[str, Any]] = {"metrics": metrics, "params": data.params, "tags": data.tags}
        source = sources.get(kind, {})
        value = source.get(key)
        cells.append({"col": c, "value": fmt_value(value), "raw": value})
    return {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "status": info.status,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "user_id": info.user_id,
        "lifecycle_stage": info.lifecycle_stage,
        "parent_run_id": data.tags.get(PARENT_TAG),
        "cells": cells,
    }


def auto_columns(runs: list[Run]) -> list[str]:
    metrics: dict[str, None] = {}
    params: dict[str, None] = {}
    for r in runs:
        for k in r.data.metrics:
            metrics.setdefault(k)
        for k in r.data.params:
            params.setdefault(k)
    return [f"metrics.{k}" for k in sorted(metrics)[:AUTO_COLUMNS]] + [
        f"params.{k}" for k in sorted(params)[:AUTO_COLUMNS]
    ]


def group_rows(store: Any, q: TableQuery, filter_string: str, metric_cols: list[str]) -> list[dict]:
    """Runs grouped by a param or tag value: count and mean/min/max of each metric column (SQL)."""
    kind = q.group.partition(".")[0]
    table, key = _group_source(q)
    sql, params = _base_sql(store, q, filter_string)
    joins, selects, args = [], [], []
    for i, col in enumerate(metric_cols[:10]):
        joins.append(
            f"LEFT JOIN latest_metrics m{i}{_covering_hint(store, 'latest_metrics')}"
            f" ON m{i}.run_id = s.run_id AND m{i}.name = ? AND m{i}.kind = 0"
        )
        args.append(col.partition(".")[2])
        selects.append(f", AVG(m{i}.value), MIN(m{i}.value), MAX(m{i}.value)")
    full = (
        f"SELECT g.value, COUNT(*){''.join(selects)} FROM ({sql}) s"
        f" LEFT JOIN {table} g{_covering_hint(store, table)} ON g.run_id = s.run_id AND g.name = ? {' '.join(joins)}"
        " GROUP BY g.value ORDER BY COUNT(*) DESC LIMIT 500"
    )
    with store.db.read() as cur:
        rows = cur.execute(full, [*params, key, *args]).fetchall()
    out = []
    for r in rows:
        stats = []
        for i, col in enumerate(metric_cols[:10]):
            mean, lo, hi = r[2 + 3 * i : 5 + 3 * i]
            stats.append({"col": col, "mean": mean, "min": lo, "max": hi})
        value = r[0]
        cond = (
            f"{kind}.{quote_key(key)} IS NULL"
            if value is None
            else f"{kind}.{quote_key(key)} = {quote_value(str(value))}"
        )
        flt = f"{q.filter} and {cond}" if q.filter else cond
        out.append({"value": value, "count": int(r[1]), "stats": stats, "filter": flt})
    return out


def _group_source(q: TableQuery) -> tuple[str, str]:
    kind, _, key = q.group.partition(".")
    table = {"params": "params", "tags": "tags"}.get(kind)
    if table is None or not key:
        raise LabkeepException(
            f"Group by a param or tag column (params.<name> or tags.<name>), not {q.group!r}.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    return table, key


def group_series(store: Any, q: TableQuery, filter_string: str, metric: str, max_points: int) -> list[dict]:
    """Per group: mean, min and max of ``metric`` by step over EVERY run of the group (in SQL).

    Steps are bucketed to at most ``max_points`` buckets of equal width when the histories are
    longer; groups come largest first, like the groups table.
    """
    table, key = _group_source(q)
    sql, params = _base_sql(store, q, filter_string)
    hint = _covering_hint(store, table)
    join = (
        f" FROM ({sql}) s LEFT JOIN {table} g{hint} ON g.run_id = s.run_id AND g.name = ?"
        " JOIN metrics m ON m.run_id = s.run_id AND m.name = ? AND m.kind = 0"
    )
    args = [*params, key, metric]
    with store.db.read() as cur:
        lo, hi = cur.execute(f"SELECT MIN(m.step), MAX(m.step){join}", args).fetchone()
        if lo is None:
            return []
        width = max(1, -(-(int(hi) - int(lo) + 1) // max(1, max_points)))
        div = "DIV" if store.db.dialect == "mysql" else "/"
        rows = cur.execute(
            f"SELECT g.value, (m.step - ?) {div} ? AS b, AVG(m.value), MIN(m.value), MAX(m.value),"
            f" MAX(m.step), COUNT(DISTINCT m.run_id) FROM ({sql}) s"
            f" LEFT JOIN {table} g{hint} ON g.run_id = s.run_id AND g.name = ?"
            " JOIN metrics m ON m.run_id = s.run_id AND m.name = ? AND m.kind = 0"
            " GROUP BY g.value, b ORDER BY g.value, b",
            [int(lo), width, *args],
        ).fetchall()
        sizes = {
            r[0]: int(r[1])
            for r in cur.execute(
                f"SELECT g.value, COUNT(*) FROM ({sql}) s LEFT JOIN {table} g{hint} ON g.run_id = s.run_id"
                " AND g.name = ? GROUP BY g.value",
                [*params, key],
            ).fetchall()
        }
    out: dict[Any, dict[str, Any]] = {}
    for value, _b, mean, mn, mx, step, n in rows:
        g = out.setdefault(
            value,
            {"value": value, "runs": sizes.get(value, 0), "step": [], "value_mean": [], "min": [], "max": [], "n": []},
        )
        g["step"].append(int(step))
        g["value_mean"].append(float(mean))
        g["min"].append(float(mn))
        g["max"].append(float(mx))
        g["n"].append(int(n))
    return sorted(out.values(), key=lambda g: -g["runs"])


def _effective_filter(store: Any, q: TableQuery) -> tuple[str, bool]:
    """(filter to run, nested?): without a user filter, a nested experiment lists top-level runs."""
    nested = q.nested and not q.filter and has_nested(store, q.experiment_id)
    return (f"tags.{quote_key(PARENT_TAG)} IS NULL" if nested else q.filter), nested


def runs_page(ui: Ui, request: Request, experiment_id: str) -> Response:
    experiment_id = strip_json(request, experiment_id)
    as_json = wants_json(request)
    exp = ui.store.get_experiment(experiment_id)
    q = TableQuery.from_request(request, experiment_id)
    error = None
    filter_string, nested = _effective_filter(ui.store, q)
    runs: list[Run] = []
    has_next = False
    total: int | None = None
    groups: list[dict] = []
    try:
        runs, has_next = load_page(ui.store, q, filter_string)
        if as_json:  # the HTML page fetches its count afterwards (/ui-api/run-count)
            total = count_runs(ui.store, q, filter_string)
    except LabkeepException as exc:
        error = exc.message
    cols = q.cols if q.cols is not None else auto_columns(runs)
    counts = child_counts(ui.store, [r.info.run_id for r in runs]) if nested and runs else {}
    rows = []
    for r in runs:
        row = run_row(r, cols)
        row["child_count"] = counts.get(r.info.run_id, 0)
        row["children_filter"] = _children_filter(r.info.run_id)
        row["children_url"] = ui.url(
            f"/experiments/{experiment_id}",
            **{**q.state(), "filter": row["children_filter"], "page": 1, "group": ""},
        )
        rows.append(row)
    if q.group and error is None:
        try:
            # the same runs the table counts (top-level ones in a nested experiment)
            groups = group_rows(ui.store, q, filter_string, [c for c in cols if c.startswith("metrics.")])
        except LabkeepException as exc:
            error = exc.message
    state = q.state()
    data = {
        "experiment": exp.to_dict(),
        "rows": rows,
        "columns": cols,
        "total": total,
        "has_next": has_next,
        "nested": nested,
        "groups": groups,
        "error": error,
        "state": state,
        "tabs": tabs(ui, exp, "runs"),
        "context": experiment_context(exp),
    }
    if as_json:
        return ui.page(request, "runs.html", data)
    data["url"] = lambda **kw: ui.url(f"/experiments/{experiment_id}", **{**state, **kw})
    data["count_url"] = ui.url("/ui-api/run-count", experiment_id=experiment_id, **state)
    data["sortable"] = ["run_name", "status", "start_time", "duration", "user_id"]
    return ui.page(request, "runs.html", data)


def experiment_context(exp: Any) -> dict[str, Any]:
    """An experiment's description (``mlflow.note.content``), its tags and, apart, system tags."""
    tags = dict(exp.tags or {})
    note = tags.pop("mlflow.note.content", "")
    return {
        "description": note,
        "tags": sorted((k, v) for k, v in tags.items() if not k.startswith("mlflow.")),
        "system_tags": sorted((k, v) for k, v in tags.items() if k.startswith("mlflow.")),
    }


def _children_filter(parent_id: str) -> str:
    return f"tags.{quote_key(PARENT_TAG)} = {quote_value(parent_id)}"


def children_api(ui: Ui, request: Request) -> Response:
    """The rows of one parent's child runs: HTML ``<tr>``s for the table, or JSON."""
    exp_id = request.query_params.get("experiment_id", "")
    parent = request.query_params.get("parent", "")
    ui.store.get_experiment(exp_id)
    q = TableQuery.from_request(request, exp_id)
    cols = q.cols or []
    rows = [run_row(c, cols) for c in children_of(ui.store, q, parent)]
    total = child_counts(ui.store, [parent]).get(parent, 0)
    if wants_json(request):
        from labkeep.server.ui.common import json_response

        return json_response({"rows": rows, "total": total})
    all_url = ui.url(f"/experiments/{exp_id}", **{**q.state(), "filter": _children_filter(parent), "page": 1})
    data = {"children": rows, "total": total, "parent": parent, "columns": cols, "all_url": all_url}
    return ui.render("_children.html", data)


def count_api(ui: Ui, request: Request) -> Response:
    """``{"total": n}`` for the runs table's filter (counting can take a full scan: done lazily)."""
    from labkeep.server.ui.common import json_response

    exp_id = request.query_params.get("experiment_id", "")
    ui.store.get_experiment(exp_id)
    q = TableQuery.from_request(request, exp_id)
    filter_string, nested = _effective_filter(ui.store, q)
    return json_response({"total": count_runs(ui.store, q, filter_string), "nested": nested})


def columns_api(ui: Ui, request: Request) -> Response:
    from labkeep.server.ui.common import json_response

    exp_id = request.query_params.get("experiment_id", "")
    ui.store.get_experiment(exp_id)
    return json_response(distinct_keys(ui.store, exp_id))


def group_series_api(ui: Ui, request: Request) -> Response:
    """``/ui-api/group-series?experiment_id=&group=&filter=&key=``: the group chart's series."""
    from labkeep.server.ui.common import json_response

    exp_id = request.query_params.get("experiment_id", "")
    ui.store.get_experiment(exp_id)
    q = TableQuery.from_request(request, exp_id)
    metric = request.query_params.get("key", "")
    if not q.group or not metric:
        raise LabkeepException("group-series needs group=<params.x|tags.x> and key=<metric>.", error_code="INVALID_PARAMETER_VALUE")
    try:
        max_points = max(10, min(5000, int(request.query_params.get("max_points", 500))))
    except ValueError:
        raise LabkeepException("max_points must be an integer.", error_code="INVALID_PARAMETER_VALUE")
    filter_string, nested = _effective_filter(ui.store, q)
    groups = group_series(ui.store, q, filter_string, metric, max_points)
    return json_response({"groups": groups, "nested": nested})
