"""``/graphql``: the GraphQL endpoint mlflow's web UI and clients query (runs, experiments, metrics).

Every root field reuses the REST handler of the same operation, so validation, error codes and
(with auth on) the per-resource permission checks are the REST ones. Before execution a query is
scanned for size: nesting depth, total selections, root fields and aliases per level are capped,
so one request cannot fan out into thousands of store calls. The answer is always HTTP 200 with
``{"data": ..., "errors": [messages] | null}``, as mlflow's server answers.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.server.api import artifacts, datasets, experiments, registry, runs
from labkeep.server.api.common import ApiContext, ApiRequest

log = logging.getLogger(__name__)

MAX_DEPTH = 10
MAX_SELECTIONS = 1000
# mlflow's knobs, honoured under the same names so a deployment's settings carry over
ROOT_FIELDS_ENV = "MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS"
ALIASES_ENV = "MLFLOW_SERVER_GRAPHQL_MAX_ALIASES"
_DEFAULT_LIMIT = 10


class QueryTooLarge(Exception):
    """A query over one of the size limits (its message is the answer's error)."""


def _limit(env: str) -> int:
    try:
        return int(os.environ.get(env, _DEFAULT_LIMIT))
    except ValueError:
        return _DEFAULT_LIMIT


# ---------------------------------------------------------------- size limits
def _fields_of(selection_set: Any, fragments: dict[str, Any], seen: frozenset[str]) -> tuple[list[Any], int]:
    """The fields of one level (fragments expanded) and how many of them carry an alias."""
    from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode

    fields: list[Any] = []
    aliases = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            fields.append(sel)
            aliases += sel.alias is not None
        elif isinstance(sel, InlineFragmentNode):
            more, n = _fields_of(sel.selection_set, fragments, seen)
            fields += more
            aliases += n
        elif isinstance(sel, FragmentSpreadNode):
            name = sel.name.value
            frag = fragments.get(name)
            if frag is not None and name not in seen:  # a fragment cycle is the validator's error
                more, n = _fields_of(frag.selection_set, fragments, seen | {name})
                fields += more
                aliases += n
    return fields, aliases


def check_size(document: Any) -> None:
    """Raise ``QueryTooLarge`` when the parsed query goes over a limit."""
    from graphql.language import FragmentDefinitionNode, OperationDefinitionNode

    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root_fields = 0
    most_aliases = 0
    selections = 0
    for op in document.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        pending = [(op.selection_set, 1)]
        while pending:
            selection_set, depth = pending.pop()
            if depth > MAX_DEPTH:
                raise QueryTooLarge(f"Query exceeds maximum depth of {MAX_DEPTH}")
            fields, aliases = _fields_of(selection_set, fragments, frozenset())
            most_aliases = max(most_aliases, aliases)
            for f in fields:
                selections += 1
                if selections > MAX_SELECTIONS:
                    raise QueryTooLarge(f"Query exceeds maximum total selections of {MAX_SELECTIONS}")
                root_fields += depth == 1
                if f.selection_set is not None:
                    pending.append((f.selection_set, depth + 1))
    for count, env, what in (
        (root_fields, ROOT_FIELDS_ENV, "root fields"),
        (most_aliases, ALIASES_ENV, "aliases"),
    ):
        cap = _limit(env)
        if count > cap:
            raise QueryTooLarge(
                f"GraphQL queries should have at most {cap} {what}, got {count} {what}. "
                f"Set {env} on the server to allow more."
            )


# ---------------------------------------------------------------- schema and value mapping
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _long_out(value: Any) -> str:
    return str(int(value))


def _long_in(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        from graphql import GraphQLError

        raise GraphQLError(f"LongString cannot represent {value!r}") from None


def _long_literal(node: Any, _variables: Any = None) -> int:
    return _long_in(getattr(node, "value", None))


@lru_cache(maxsize=1)
def schema() -> Any:
    """The executable schema (built once per process)."""
    from graphql import build_schema

    from labkeep.server.api.graphql_schema import SDL

    built = build_schema(SDL)
    scalar: Any = built.type_map["LongString"]
    scalar.serialize, scalar.parse_value, scalar.parse_literal = _long_out, _long_in, _long_literal
    for enum_name in ("MlflowRunStatus", "MlflowViewType", "MlflowModelVersionStatus"):
        enum: Any = built.type_map[enum_name]
        for name, value in enum.values.items():
            value.value = name  # enum values travel as their names in the REST payloads
    return built


def _unset(return_type: Any) -> Any:
    """What an absent field answers: the protobuf default of its type, as mlflow's server does
    (``""``, ``0``, ``false``, ``[]``, an empty object), so clients never see null for a field
    the REST payload simply left out. Enums and error objects stay null."""
    from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType

    if isinstance(return_type, GraphQLNonNull):
        return_type = return_type.of_type
    if isinstance(return_type, GraphQLList):
        return []
    if isinstance(return_type, GraphQLObjectType):
        return None if return_type.name == "ApiError" else {}
    if isinstance(return_type, GraphQLScalarType):
        return {"String": "", "Boolean": False, "Int": 0, "Float": 0.0, "LongString": 0}.get(return_type.name)
    return None


def _field_value(source: Any, info: Any, **args: Any) -> Any:
    """Default resolver: camelCase field -> snake_case key; callables are lazy sub-resolvers."""
    name = info.field_name
    if not isinstance(source, dict):
        return None
    value = source[name] if name in source else source.get(_snake(name))
    if callable(value):
        return value(info, **args)
    if value is None:
        return _unset(info.return_type)
    if name == "value":
        # GraphQL's Float has no NaN/Infinity: such points answer null (mlflow does the same)
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return number if math.isfinite(number) else None
    return value


# ---------------------------------------------------------------- resolvers
class _Call:
    """Runs REST handlers for one GraphQL request, with the REST permission checks when auth is on."""

    def __init__(self, ctx: ApiContext, user: Any) -> None:
        self.ctx = ctx
        self.user = user

    def __call__(self, handler: Callable[..., Any], body: dict[str, Any]) -> Any:
        from graphql import GraphQLError

        req = ApiRequest("POST", body={k: v for k, v in body.items() if v is not None})
        auth = self.ctx.extras.get("auth")
        try:
            if auth is None:
                return handler(self.ctx, req)
            from labkeep.server.auth.access import rule_for
            from labkeep.server.auth.service import denied, unauthenticated

            rule = rule_for(handler)
            if rule is None:
                raise denied("This operation declares no permission check; it is refused while auth is on.")
            if self.user is None and rule.kind != "public":
                raise unauthenticated()
            req.user = self.user
            if self.user is not None:
                rule.check(auth, self.user, req)
            result = handler(self.ctx, req)
            if self.user is not None and rule.after is not None:
                result = rule.after(auth, self.user, req, result)
            return result
        except LabkeepException as exc:
            raise GraphQLError(exc.message, extensions={"error_code": exc.error_code}) from None
        except Exception:
            log.exception("GraphQL resolver %s failed", getattr(handler, "__name__", handler))
            raise GraphQLError("Internal error while resolving the query.") from None

    # ---- run objects get lazy ``experiment`` and ``modelVersions`` fields
    def run(self, run: dict[str, Any]) -> dict[str, Any]:
        info = run.get("info") or {}

        def experiment(_info: Any) -> Any:
            return self(experiments.get_experiment, {"experiment_id": info.get("experiment_id")}).get(
                "experiment"
            )

        def model_versions(_info: Any) -> Any:
            if self.ctx.registry_store is None:
                return []
            found = self(registry.search_model_versions, {"filter": f"run_id='{info.get('run_id')}'"})
            return found.get("model_versions", [])

        return {**run, "experiment": experiment, "model_versions": model_versions}

    def root(self) -> dict[str, Any]:
        def wrap(handler: Callable[..., Any], post: Callable[[Any], Any] | None = None) -> Callable[..., Any]:
            def resolve(_info: Any, input: dict[str, Any] | None = None) -> Any:  # noqa: A002
                out = self(handler, {_snake(k): v for k, v in (input or {}).items()})
                return post(out) if post else out

            return resolve

        def get_run(out: dict[str, Any]) -> dict[str, Any]:
            return {**out, "run": self.run(out["run"])} if out.get("run") else out

        def search_runs(out: dict[str, Any]) -> dict[str, Any]:
            return {**out, "runs": [self.run(r) for r in out.get("runs") or []]}

        def echo(_info: Any, inputString: str | None = None) -> dict[str, Any]:  # noqa: N803
            return {"output": inputString}

        return {
            "test": echo,
            "testMutation": echo,
            "mlflowGetExperiment": wrap(experiments.get_experiment),
            "mlflowGetRun": wrap(runs.get_run, get_run),
            "mlflowSearchRuns": wrap(runs.search_runs, search_runs),
            "mlflowGetMetricHistoryBulkInterval": wrap(runs.get_metric_history_bulk_interval),
            "mlflowListArtifacts": wrap(artifacts.list_run_artifacts),
            "mlflowSearchModelVersions": wrap(registry.search_model_versions),
            "mlflowSearchDatasets": wrap(datasets.search_datasets),
        }


# ---------------------------------------------------------------- the route
def _variables(req: ApiRequest) -> dict[str, Any] | None:
    raw = req.raw("variables")
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):  # GET sends it as a JSON string
        try:
            raw = json.loads(raw)
        except ValueError:
            raise InvalidParameterValue("GraphQL 'variables' must be a JSON object.") from None
    if not isinstance(raw, dict):
        raise InvalidParameterValue("GraphQL 'variables' must be a JSON object.")
    return raw


def graphql(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """Execute one GraphQL operation (``query``, optional ``variables`` and ``operationName``)."""
    from graphql import GraphQLError, execute, parse, validate

    source = req.get_str("query", required=True)
    operation = req.get_str("operationName") or None
    variables = _variables(req)
    try:
        document = parse(source)
        check_size(document)
    except GraphQLError as exc:
        return {"data": None, "errors": [exc.message]}
    except QueryTooLarge as exc:
        return {"data": None, "errors": [str(exc)]}
    problems = validate(schema(), document)
    if problems:
        return {"data": None, "errors": [p.message for p in problems]}
    result: Any = execute(
        schema(),
        document,
        root_value=_Call(ctx, getattr(req, "user", None)).root(),
        variable_values=variables,
        operation_name=operation,
        field_resolver=_field_value,
    )
    errors = [e.message for e in result.errors] if result.errors else None
    return {"data": result.data, "errors": errors}
