"""Search queries as SQL: the only place filters meet SQL.

Each ``build_*_query`` returns ``(sql, params)`` with ``?`` placeholders (``db.Cursor`` adapts
them per driver). The statement selects the ids of one page in final order: the caller passes
the page size it wants as ``limit`` (fetch ``limit + 1`` to learn whether a next page exists).

Semantics shared by every API:

* Filters become ``EXISTS`` subqueries (or, for run metrics/params/tags, inner joins) against the
  indexed key/value tables, so a row without the key never matches (also for ``!=``); ``IS NULL``
  becomes ``NOT EXISTS``.
* ``LIKE`` is case-sensitive on every backend and only ``%``/``_`` are wildcards (we pass an
  explicit ``ESCAPE '!'`` and double any ``!`` in the pattern); ``ILIKE`` lower-cases both sides.
* Metric values: ``kind`` 0 finite, 1 NaN, 2 +inf, 3 -inf. Non-finite rows are matched by kind
  (NaN satisfies only ``!=``), finite rows by value.
* Ordering: missing values (and NULL columns) sort last in both directions, NaN metrics just
  before them; string keys sort by code point (``COLLATE "C"`` on PostgreSQL).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.search import grammars as g
from labkeep.search.parser import (
    Clause,
    OrderKey,
    numeric_compare,
    parse_filter,
    parse_logged_model_order_by,
    parse_order_by,
    resolve_order,
    with_implicit_clauses,
)

_SQL_OP = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_KIND_VALUES = ((1, math.nan), (2, math.inf), (3, -math.inf))
_INT64_MAX = 2**63 - 1
DIALECTS = ("sqlite", "postgresql", "mysql")


class _Query:
    """SQL fragments with their parameters, assembled in textual order."""

    def __init__(self, dialect: str) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown SQL dialect {dialect!r}")
        self.dialect = dialect
        self.joins: list[str] = []
        self.join_params: list[Any] = []
        self.where: list[str] = []
        self.where_params: list[Any] = []
        self.order: list[str] = []
        self.order_params: list[Any] = []
        self._n = 0

    def alias(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def add_where(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.where.append(sql)
        self.where_params.extend(params)

    def add_join(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.joins.append(sql)
        self.join_params.extend(params)

    def add_order(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.order.append(sql)
        self.order_params.extend(params)

    def collate(self, expr: str) -> str:
        """Code-point string order, whatever the database's default collation."""
        return f'{expr} COLLATE "C"' if self.dialect == "postgresql" else expr

    def build(self, select: str, source: str, limit: int | None, offset: int = 0) -> tuple[str, list[Any]]:
        """The statement; ``limit=None`` leaves out LIMIT/OFFSET (for a union arm)."""
        sql = [f"SELECT {select} FROM {source}", *self.joins]
        if self.where:
            sql.append("WHERE " + " AND ".join(self.where))
        if self.order:
            sql.append("ORDER BY " + ", ".join(self.order))
        if limit is not None:
            limit, offset = _non_negative(limit, "limit"), _non_negative(offset, "offset")
            sql.append(f"LIMIT {limit} OFFSET {offset}")
        return " ".join(sql), [*self.join_params, *self.where_params, *self.order_params]


def _non_negative(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidParameterValue(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _bind_number(value: int | float) -> int | float:
    """Ints beyond int64 cannot be bound on SQLite; compare them as floats."""
    if isinstance(value, int) and abs(value) > _INT64_MAX:
        return float(value)
    return value


# ---------------------------------------------------------------- conditions
def like_pattern(pattern: str) -> str:
    """The user's LIKE pattern for ``ESCAPE '!'``: only ``%`` and ``_`` stay special."""
    return pattern.replace("!", "!!")


def like_literal(value: str) -> str:
    """A LIKE pattern (for ``ESCAPE '!'``) matching exactly ``value``."""
    return value.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def string_condition(
    expr: str, comparator: str, value: Any, dialect: str = "sqlite"
) -> tuple[str, list[Any]]:
    """``expr <comparator> value`` for string (or integer-id) columns.

    MySQL's binary collations compare with PAD SPACE ('a' = 'a '); LIKE does not, so on MySQL
    string equality also checks an exact LIKE (the ``=`` keeps the index usable).
    """
    exact = dialect == "mysql" and not isinstance(value, (int, float))
    if comparator == "=" and exact:
        return f"({expr} = ? AND {expr} LIKE ? ESCAPE '!')", [value, like_literal(value)]
    if comparator == "!=" and exact:
        return f"({expr} <> ? OR {expr} NOT LIKE ? ESCAPE '!')", [value, like_literal(value)]
    if comparator in ("IN", "NOT IN") and dialect == "mysql" and all(isinstance(v, str) for v in value):
        marks = ", ".join("?" * len(value))
        likes = " OR ".join(f"{expr} LIKE ? ESCAPE '!'" for _ in value)
        patterns = [like_literal(v) for v in value]
        if comparator == "IN":
            return f"({expr} IN ({marks}) AND ({likes}))", [*value, *patterns]
        return f"NOT ({expr} IN ({marks}) AND ({likes}))", [*value, *patterns]
    if comparator in ("=", "!="):
        return f"{expr} {_SQL_OP[comparator]} ?", [value]
    if comparator == "LIKE":
        return f"{expr} LIKE ? ESCAPE '!'", [like_pattern(value)]
    if comparator == "ILIKE":
        return f"LOWER({expr}) LIKE ? ESCAPE '!'", [like_pattern(value).lower()]
    if comparator in ("IN", "NOT IN"):
        marks = ", ".join("?" * len(value))
        return f"{expr} {comparator} ({marks})", list(value)
    raise InvalidParameterValue(f"comparator {comparator!r} is not supported for strings")


def numeric_condition(expr: str, comparator: str, value: int | float) -> tuple[str, list[Any]]:
    """``expr <op> value`` for numeric columns; NULL never matches."""
    if isinstance(value, float) and not math.isfinite(value):
        # Every finite number compares the same way against +/-inf.
        return (f"{expr} IS NOT NULL" if numeric_compare(0.0, comparator, value) else "1 = 0"), []
    return f"{expr} {_SQL_OP[comparator]} ?", [_bind_number(value)]


def metric_value_condition(alias: str, comparator: str, value: int | float) -> tuple[str, list[Any]]:
    """Condition on a metric row (``alias.value``/``alias.kind``) honouring NaN and infinities."""
    value = float(value)
    parts: list[str] = []
    params: list[Any] = []
    kinds = [k for k, special in _KIND_VALUES if numeric_compare(special, comparator, value)]
    if math.isfinite(value):
        parts.append(f"({alias}.kind = 0 AND {alias}.value {_SQL_OP[comparator]} ?)")
        params.append(value)
    elif numeric_compare(0.0, comparator, value):
        kinds.insert(0, 0)
    if kinds:
        parts.append(f"{alias}.kind IN ({', '.join(map(str, kinds))})")
    if not parts:
        return "1 = 0", []
    return "(" + " OR ".join(parts) + ")", params


def _column_condition(expr: str, clause: Clause, numeric: bool, dialect: str) -> tuple[str, list[Any]]:
    if numeric and clause.comparator in _SQL_OP:
        return numeric_condition(expr, clause.comparator, clause.value)
    return string_condition(expr, clause.comparator, clause.value, dialect)


def _kv_condition(table: str, link: str, clause: Clause, q: _Query) -> tuple[str, list[Any]]:
    """Clause on a key/value table (params, tags): ``link`` correlates ``t`` with the outer row."""
    t = q.alias("kv")
    link = link.replace("{t}", t)
    head = f"SELECT 1 FROM {table} {t} WHERE {link} AND {t}.name = ?"
    if clause.comparator == "IS NULL":
        return f"NOT EXISTS ({head})", [clause.key]
    if clause.comparator == "IS NOT NULL":
        return f"EXISTS ({head})", [clause.key]
    cond, params = string_condition(f"{t}.value", clause.comparator, clause.value, q.dialect)
    return f"EXISTS ({head} AND {cond})", [clause.key, *params]


def _prompt_tag_condition(table: str, link: str, clause: Clause, q: _Query) -> tuple[str, list[Any]]:
    """The prompt tag: a row without it counts as 'false'."""
    t = q.alias("pt")
    link = link.replace("{t}", t)
    # The key is inlined (a fixed constant): string_condition may repeat ``expr`` on MySQL.
    assert clause.key == g.PROMPT_TAG
    expr = (
        f"COALESCE((SELECT {t}.value FROM {table} {t} WHERE {link} AND {t}.name = '{g.PROMPT_TAG}'), 'false')"
    )
    return string_condition(expr, clause.comparator, clause.value, q.dialect)


def _order_column(q: _Query, expr: str, ascending: bool, nullable: bool, string: bool) -> None:
    if nullable:
        q.add_order(f"CASE WHEN {expr} IS NULL THEN 1 ELSE 0 END")
    q.add_order(f"{q.collate(expr) if string else expr} {'ASC' if ascending else 'DESC'}")


def _int_ids(ids: Iterable[Any] | None, what: str = "experiment_ids") -> list[int]:
    out = []
    for i in ids or ():
        try:
            if isinstance(i, bool):
                raise ValueError
            out.append(int(str(i).strip()))
        except ValueError:
            raise InvalidParameterValue(f"Invalid {what}: {i!r} is not an integer id")
    return out


def _in_list(q: _Query, expr: str, values: Sequence[Any]) -> None:
    if not values:
        q.add_where("1 = 0")
    else:
        q.add_where(f"{expr} IN ({', '.join('?' * len(values))})", list(values))


# ---------------------------------------------------------------- runs
# attribute -> (column, nullable, string)
_RUN_COLUMNS = {
    "run_id": ("r.run_id", False, True),
    "run_name": ("r.name", False, True),
    "status": ("r.status", False, True),
    "user_id": ("r.user_id", False, True),
    "artifact_uri": ("r.artifact_uri", False, True),
    "start_time": ("r.start_time", False, False),
    "end_time": ("r.end_time", True, False),
}


class _WalkLimits:
    """Deepest page (limit + offset) answered by the metric-index walk, per dialect."""

    def get(self, dialect: str, default: int = 0) -> int:
        if dialect == "sqlite":
            return SQLITE_METRIC_WALK_MAX
        if dialect == "postgresql":
            return POSTGRES_METRIC_WALK_MAX
        return default


def build_runs_query(
    experiment_ids: list[str],
    lifecycle_stages: tuple[str, ...],
    filter_string: str | None,
    order_by: list[str] | None,
    limit: int,
    offset: int,
    dialect: str,
) -> tuple[str, list[Any]]:
    """``SELECT r.run_id`` of one page of search_runs, in final order."""
    clauses = parse_filter(filter_string, g.RUNS)
    keys = resolve_order("runs", parse_order_by(order_by, g.RUNS))
    exp_ids, stages = _int_ids(experiment_ids), list(lifecycle_stages)
    limit, offset = _non_negative(limit, "limit"), _non_negative(offset, "offset")
    walk = METRIC_WALK_DIALECTS.get(dialect, 0)
    if keys[0].entity == g.METRIC and limit + offset <= walk:
        return _runs_by_metric_walk(dialect, exp_ids, stages, clauses, keys, limit, offset)
    q = _Query(dialect)
    _in_list(q, "r.experiment_id", exp_ids)
    _in_list(q, "r.lifecycle_stage", stages)
    for c in clauses:
        if not _run_join(c, q):
            q.add_where(*_run_condition(c, q))
    for k in keys:
        _run_order(k, q)
    return q.build("r.run_id", "runs r", limit, offset)


def build_runs_selection(
    experiment_ids: list[str], lifecycle_stages: tuple[str, ...], filter_string: str | None, dialect: str
) -> tuple[str, list[Any]]:
    """``SELECT r.run_id`` of every matching run, unordered and unlimited.

    For aggregates over a filtered selection (grouping, counting): without ORDER BY and LIMIT the
    database can merge it into the outer statement instead of sorting every run first.
    """
    clauses = parse_filter(filter_string, g.RUNS)
    q = _Query(dialect)
    _in_list(q, "r.experiment_id", _int_ids(experiment_ids))
    _in_list(q, "r.lifecycle_stage", list(lifecycle_stages))
    for c in clauses:
        if not _run_join(c, q):
            q.add_where(*_run_condition(c, q))
    return q.build("r.run_id", "runs r", None)


# Early pages ordered by a metric walk the (name, value) index on SQLite and PostgreSQL; deeper
# pages sort. (Set to 0 to always sort.)
SQLITE_METRIC_WALK_MAX = 1000
POSTGRES_METRIC_WALK_MAX = 1000
METRIC_WALK_DIALECTS = _WalkLimits()


def _runs_by_metric_walk(
    dialect: str,
    exp_ids: list[int],
    stages: list[str],
    clauses: list[Clause],
    keys: list[OrderKey],
    limit: int,
    offset: int,
) -> tuple[str, list[Any]]:
    """search_runs ordered first by a metric, as three ordered arms concatenated by UNION ALL.

    Arm 0 holds runs whose metric is a number (walked in ``latest_metrics(name, value)`` index
    order), arm 1 runs whose metric is NaN, arm 2 runs without it -- the bucket order the sort
    requires. SQLite and PostgreSQL (an Append node under a Limit) evaluate the arms one after
    the other and stop at the LIMIT, so a first page touches about ``(limit + offset) /
    selectivity`` index entries instead of sorting every matching run. On PostgreSQL each arm
    carries its own ORDER BY and LIMIT, so the planner picks a fast-start plan (a backward scan of
    the metric index probing runs) instead of hash joins over the whole experiment.
    """
    first, rest = keys[0], keys[1:]
    arms: list[str] = []
    params: list[Any] = []
    for bucket in (0, 1, 2):
        q = _Query(dialect)
        if bucket == 2:
            source = "runs r"
            q.add_where(
                "NOT EXISTS (SELECT 1 FROM latest_metrics m0 WHERE m0.run_id = r.run_id AND m0.name = ?)",
                [first.key],
            )
        else:
            # CROSS JOIN pins SQLite's join order: the metric index drives, runs are probed.
            join = "CROSS JOIN" if dialect == "sqlite" else "JOIN"
            source = f"latest_metrics m0 {join} runs r ON r.run_id = m0.run_id"
            q.add_where("m0.name = ?", [first.key])
            if bucket == 0:
                q.add_where("m0.kind <> 1")
                q.add_order(f"m0.value {'ASC' if first.ascending else 'DESC'}")
            else:
                q.add_where("m0.value = 0 AND m0.kind = 1")  # NaN is stored as 0
        _in_list(q, "r.experiment_id", exp_ids)
        _in_list(q, "r.lifecycle_stage", stages)
        for c in clauses:
            q.add_where(*_run_condition(c, q))
        for k in rest:
            _run_order(k, q)
        if dialect == "sqlite":
            sql, arm_params = q.build("r.run_id AS run_id", source, None)
            arms.append(f"SELECT run_id FROM ({sql})")
        else:
            sql, arm_params = q.build("r.run_id AS run_id", source, limit + offset)
            arms.append(f"({sql})")
        params += arm_params
    if dialect == "sqlite":
        return " UNION ALL ".join(arms) + f" LIMIT {limit} OFFSET {offset}", params
    return f"SELECT u.run_id FROM ({' UNION ALL '.join(arms)}) u LIMIT {limit} OFFSET {offset}", params


def _run_join(c: Clause, q: _Query) -> bool:
    """Metric/param/tag comparisons as INNER JOINs (at most one row per run and key).

    A join lets the planner start from the selective key/value index instead of probing every
    run of the experiment; a run without the key drops out, as the semantics require.
    """
    if c.entity == g.METRIC:
        a = q.alias("lm")
        cond, params = metric_value_condition(a, c.comparator, c.value)
        q.add_join(
            f"JOIN latest_metrics {a} ON {a}.run_id = r.run_id AND {a}.name = ? AND {cond}", [c.key, *params]
        )
        return True
    if c.entity in (g.PARAM, g.TAG) and c.comparator not in ("IS NULL", "IS NOT NULL"):
        table = "params" if c.entity == g.PARAM else "tags"
        a = q.alias("kv")
        cond, params = string_condition(f"{a}.value", c.comparator, c.value, q.dialect)
        q.add_join(f"JOIN {table} {a} ON {a}.run_id = r.run_id AND {a}.name = ? AND {cond}", [c.key, *params])
        return True
    return False


def _run_condition(c: Clause, q: _Query) -> tuple[str, list[Any]]:
    if c.entity == g.METRIC:
        a = q.alias("lm")
        cond, params = metric_value_condition(a, c.comparator, c.value)
        sql = f"EXISTS (SELECT 1 FROM latest_metrics {a} WHERE {a}.run_id = r.run_id AND {a}.name = ? AND {cond})"
        return sql, [c.key, *params]
    if c.entity == g.PARAM:
        return _kv_condition("params", "{t}.run_id = r.run_id", c, q)
    if c.entity == g.TAG:
        return _kv_condition("tags", "{t}.run_id = r.run_id", c, q)
    if c.entity == g.DATASET:
        ri, d = q.alias("ri"), q.alias("d")
        col = f"{ri}.context" if c.key == "context" else f"{d}.{c.key}"
        cond, params = string_condition(col, c.comparator, c.value, q.dialect)
        sql = (
            f"EXISTS (SELECT 1 FROM run_inputs {ri} JOIN datasets {d} ON {d}.dataset_id = {ri}.dataset_id"
            f" WHERE {ri}.run_id = r.run_id AND {cond})"
        )
        return sql, params
    col, _, string = _RUN_COLUMNS[c.key]
    return _column_condition(col, c, not string, q.dialect)


def _run_order(k: OrderKey, q: _Query) -> None:
    if k.entity == g.ATTRIBUTE:
        col, nullable, string = _RUN_COLUMNS[k.key]
        _order_column(q, col, k.ascending, nullable, string)
        return
    a = q.alias("o")
    if k.entity == g.METRIC:
        q.add_join(f"LEFT JOIN latest_metrics {a} ON {a}.run_id = r.run_id AND {a}.name = ?", [k.key])
        _order_metric(q, f"{a}.run_id", f"{a}.kind", f"{a}.value", k.ascending)
        return
    table = "params" if k.entity == g.PARAM else "tags"
    q.add_join(f"LEFT JOIN {table} {a} ON {a}.run_id = r.run_id AND {a}.name = ?", [k.key])
    _order_column(q, f"{a}.value", k.ascending, nullable=True, string=True)


def _order_metric(q: _Query, presence: str, kind: str, value: str, ascending: bool) -> None:
    q.add_order(f"CASE WHEN {presence} IS NULL THEN 2 WHEN {kind} = 1 THEN 1 ELSE 0 END")
    q.add_order(f"{value} {'ASC' if ascending else 'DESC'}")


# ---------------------------------------------------------------- experiments
_EXPERIMENT_COLUMNS = {
    "name": ("e.name", False, True),
    "experiment_id": ("e.experiment_id", False, False),
    "creation_time": ("e.creation_time", False, False),
    "last_update_time": ("e.last_update_time", False, False),
}


def build_experiments_query(
    lifecycle_stages: tuple[str, ...],
    filter_string: str | None,
    order_by: list[str] | None,
    limit: int,
    offset: int,
    dialect: str,
) -> tuple[str, list[Any]]:
    """``SELECT e.experiment_id`` of one page of search_experiments, in final order."""
    clauses = parse_filter(filter_string, g.EXPERIMENTS)
    keys = resolve_order("experiments", parse_order_by(order_by, g.EXPERIMENTS))
    q = _Query(dialect)
    _in_list(q, "e.lifecycle_stage", list(lifecycle_stages))
    for c in clauses:
        if c.entity == g.TAG:
            q.add_where(*_kv_condition("experiment_tags", "{t}.experiment_id = e.experiment_id", c, q))
        elif c.key == "experiment_id":
            q.add_where(*string_condition("e.experiment_id", c.comparator, c.value))
        else:
            col, _, string = _EXPERIMENT_COLUMNS[c.key]
            q.add_where(*_column_condition(col, c, not string, q.dialect))
    for k in keys:
        col, nullable, string = _EXPERIMENT_COLUMNS[k.key]
        _order_column(q, col, k.ascending, nullable, string)
    return q.build("e.experiment_id", "experiments e", limit, offset)


# ---------------------------------------------------------------- registry
def build_registered_models_query(
    filter_string: str | None,
    order_by: list[str] | None,
    limit: int,
    offset: int,
    dialect: str,
) -> tuple[str, list[Any]]:
    """``SELECT rm.name`` of one page of search_registered_models, in final order.

    Prompts (models tagged ``mlflow.prompt.is_prompt = 'true'``) are hidden unless the filter
    mentions that tag; a model without the tag counts as ``'false'``.
    """
    clauses = with_implicit_clauses("registered_models", parse_filter(filter_string, g.REGISTERED_MODELS))
    keys = resolve_order("registered_models", parse_order_by(order_by, g.REGISTERED_MODELS))
    q = _Query(dialect)
    link = "{t}.model_name = rm.name"
    for c in clauses:
        if c.entity == g.TAG:
            build = _prompt_tag_condition if c.key == g.PROMPT_TAG else _kv_condition
            q.add_where(*build("registered_model_tags", link, c, q))
        else:
            q.add_where(*string_condition("rm.name", c.comparator, c.value, q.dialect))
    for k in keys:
        if k.key == "name":
            _order_column(q, "rm.name", k.ascending, nullable=False, string=True)
        else:
            _order_column(q, "rm.last_updated_time", k.ascending, nullable=False, string=False)
    return q.build("rm.name", "registered_models rm", limit, offset)


_VERSION_COLUMNS = {
    "name": ("mv.model_name", False, True),
    "run_id": ("mv.run_id", True, True),
    "source_path": ("mv.source", False, True),
    "version_number": ("mv.version", False, False),
    "creation_timestamp": ("mv.creation_time", False, False),
    "last_updated_timestamp": ("mv.last_updated_time", False, False),
}


def build_model_versions_query(
    filter_string: str | None,
    order_by: list[str] | None,
    limit: int,
    offset: int,
    dialect: str,
) -> tuple[str, list[Any]]:
    """``SELECT mv.model_name, mv.version`` of one page of search_model_versions.

    Deleted versions never appear; prompt versions are hidden as in registered-model search.
    """
    clauses = with_implicit_clauses("model_versions", parse_filter(filter_string, g.MODEL_VERSIONS))
    keys = resolve_order("model_versions", parse_order_by(order_by, g.MODEL_VERSIONS))
    q = _Query(dialect)
    q.add_where("mv.deleted = 0")
    link = "{t}.model_name = mv.model_name AND {t}.version = mv.version"
    for c in clauses:
        if c.entity == g.TAG:
            build = _prompt_tag_condition if c.key == g.PROMPT_TAG else _kv_condition
            q.add_where(*build("model_version_tags", link, c, q))
        else:
            col, _, string = _VERSION_COLUMNS[c.key]
            q.add_where(*_column_condition(col, c, not string, q.dialect))
    for k in keys:
        col, nullable, string = _VERSION_COLUMNS[k.key]
        _order_column(q, col, k.ascending, nullable, string)
    return q.build("mv.model_name, mv.version", "model_versions mv", limit, offset)


# ---------------------------------------------------------------- logged models
_LOGGED_MODEL_COLUMNS = {
    "name": ("lg.name", False, True),
    "model_id": ("lg.model_id", False, True),
    "model_type": ("lg.model_type", True, True),
    "source_run_id": ("lg.source_run_id", True, True),
    "creation_timestamp": ("lg.creation_timestamp", False, False),
    "last_updated_timestamp": ("lg.last_updated_timestamp", False, False),
    "status": ("lg.status", False, False),
}


def normalize_datasets(datasets: Iterable[Mapping[str, Any]] | None) -> list[tuple[str, str | None]]:
    """``[{dataset_name, dataset_digest?}]`` -> ``[(name, digest or None)]``; validates shape."""
    out = []
    for d in datasets or ():
        name = d.get("dataset_name") if isinstance(d, Mapping) else None
        if not isinstance(name, str) or not name:
            raise InvalidParameterValue(f"Invalid datasets entry {d!r}: dataset_name is required")
        digest = d.get("dataset_digest")
        if digest is not None and not isinstance(digest, str):
            raise InvalidParameterValue(f"Invalid datasets entry {d!r}: dataset_digest must be a string")
        out.append((name, digest or None))
    return out


def _dataset_filter(alias: str, datasets: list[tuple[str, str | None]]) -> tuple[str, list[Any]]:
    parts, params = [], []
    for name, digest in datasets:
        if digest is None:
            parts.append(f"{alias}.dataset_name = ?")
            params.append(name)
        else:
            parts.append(f"({alias}.dataset_name = ? AND {alias}.dataset_digest = ?)")
            params += [name, digest]
    return "(" + " OR ".join(parts) + ")", params


def _logged_model_metric_condition(
    c: Clause, datasets: list[tuple[str, str | None]], q: _Query
) -> tuple[str, list[Any]]:
    """The model's latest value of the key (per listed dataset, when given) satisfies the clause."""
    x, n = q.alias("mx"), q.alias("mn")
    params: list[Any] = [c.key]
    ds_sql = ""
    same_group = ""
    if datasets:
        cond, ds_params = _dataset_filter(x, datasets)
        ds_sql = f" AND {cond}"
        params += ds_params
        same_group = (
            f" AND {n}.dataset_name = {x}.dataset_name AND ({n}.dataset_digest = {x}.dataset_digest"
            f" OR ({n}.dataset_digest IS NULL AND {x}.dataset_digest IS NULL))"
        )
    value_sql, value_params = metric_value_condition(x, c.comparator, c.value)
    params += value_params
    newer = (
        f"NOT EXISTS (SELECT 1 FROM model_metrics {n} WHERE {n}.model_id = {x}.model_id AND {n}.name = {x}.name"
        f"{same_group} AND ({n}.step > {x}.step OR ({n}.step = {x}.step AND ({n}.ts > {x}.ts"
        f" OR ({n}.ts = {x}.ts AND {n}.value > {x}.value)))))"
    )
    sql = (
        f"EXISTS (SELECT 1 FROM model_metrics {x} WHERE {x}.model_id = lg.model_id AND {x}.name = ?"
        f"{ds_sql} AND {value_sql} AND {newer})"
    )
    return sql, params


def build_logged_models_query(
    experiment_ids: list[str],
    filter_string: str | None,
    datasets: list[dict[str, Any]] | None,
    order_by: list[dict[str, Any]] | None,
    limit: int,
    offset: int,
    dialect: str,
) -> tuple[str, list[Any]]:
    """``SELECT lg.model_id`` of one page of search_logged_models, in final order.

    With ``datasets``, metric clauses only look at metrics logged on those datasets, and without
    any metric clause only models having metrics on those datasets are returned.
    """
    ids = _int_ids(experiment_ids)
    if not ids:
        raise InvalidParameterValue(
            "search_logged_models requires at least one experiment id in experiment_ids"
        )
    clauses = parse_filter(filter_string, g.LOGGED_MODELS)
    keys = resolve_order("logged_models", parse_logged_model_order_by(order_by))
    ds = normalize_datasets(datasets)
    q = _Query(dialect)
    _in_list(q, "lg.experiment_id", ids)
    q.add_where("lg.lifecycle_stage <> ?", ["deleted"])
    for c in clauses:
        if c.entity == g.METRIC:
            q.add_where(*_logged_model_metric_condition(c, ds, q))
        elif c.entity == g.PARAM:
            q.add_where(*_kv_condition("logged_model_params", "{t}.model_id = lg.model_id", c, q))
        elif c.entity == g.TAG:
            q.add_where(*_kv_condition("logged_model_tags", "{t}.model_id = lg.model_id", c, q))
        else:
            col, _, string = _LOGGED_MODEL_COLUMNS[c.key]
            q.add_where(*_column_condition(col, c, not string, q.dialect))
    if ds and not any(c.entity == g.METRIC for c in clauses):
        a = q.alias("md")
        cond, params = _dataset_filter(a, ds)
        q.add_where(f"EXISTS (SELECT 1 FROM model_metrics {a} WHERE {a}.model_id = lg.model_id AND {cond})", params)
    for k in keys:
        if k.entity == g.ATTRIBUTE:
            col, nullable, string = _LOGGED_MODEL_COLUMNS[k.key]
            _order_column(q, col, k.ascending, nullable, string)
            continue
        a = q.alias("ox")
        where = f"{a}.model_id = lg.model_id AND {a}.name = ?"
        params = [k.key]
        if k.dataset_name is not None:
            cond, ds_params = _dataset_filter(a, [(k.dataset_name, k.dataset_digest or None)])
            where += f" AND {cond}"
            params += ds_params
        latest = f"FROM model_metrics {a} WHERE {where} ORDER BY {a}.step DESC, {a}.ts DESC, {a}.value DESC LIMIT 1"
        q.add_order(f"COALESCE((SELECT CASE WHEN {a}.kind = 1 THEN 1 ELSE 0 END {latest}), 2)", params)
        q.add_order(f"(SELECT {a}.value {latest}) {'ASC' if k.ascending else 'DESC'}", params)
    return q.build("lg.model_id", "logged_models lg", limit, offset)
