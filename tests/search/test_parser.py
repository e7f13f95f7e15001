"""Parser and grammar tables of the search-grammar spec: accepted forms, rejected forms, positions."""

from __future__ import annotations

import re

import pytest

from labkeep.exceptions import InvalidParameterValue
from labkeep.search import grammars as g
from labkeep.search.parser import (
    Clause,
    OrderKey,
    parse_filter,
    parse_logged_model_order_by,
    parse_order_by,
    resolve_order,
    with_implicit_clauses,
)
from labkeep.search.tokens import tokenize


def one(filter_string: str, grammar=g.RUNS) -> tuple:
    (c,) = parse_filter(filter_string, grammar)
    return (c.entity, c.key, c.comparator, c.value)


def rejects(filter_string: str, grammar=g.RUNS, match: str | None = None, position: int | None = None) -> str:
    with pytest.raises(InvalidParameterValue) as info:
        parse_filter(filter_string, grammar)
    msg = str(info.value)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    if match:
        assert re.search(match, msg), msg
    if position is not None:
        assert f"at position {position}:" in msg, msg
    return msg


# ---------------------------------------------------------------- lexical grammar
def test_error_points_at_or():
    msg = rejects("metrics.a < 1 OR x = 2", position=15)
    assert msg == (
        "Invalid filter 'metrics.a < 1 OR x = 2' at position 15: expected AND between clauses, got 'OR'"
    )


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_empty_filter_means_no_clauses(blank):
    assert parse_filter(blank, g.RUNS) == []


@pytest.mark.parametrize(
    "text, position, match",
    [
        ("metrics.a < 1 or metrics.b > 2", 15, "expected AND between clauses, got 'or'"),
        ("NOT metrics.a = 1", 1, "NOT is not supported"),
        ("(metrics.a = 1)", 1, "parentheses"),
        ("metrics.a = 1 AND (metrics.b = 2)", 19, "parentheses"),
        ("metrics.a = 1; metrics.b = 2", 14, "';' is not supported"),
        ("metrics.a = 1;", 14, "';' is not supported"),
        ("metrics.a = 1 AND", 18, "expected a clause after AND"),
        ("metrics.a = 1 AND AND metrics.b = 1", 19, "expected a clause"),
        ("metrics.a", 10, "expected a comparator"),
        ("metrics.a =", 12, "expected a value"),
        ("= 1", 1, "expected an identifier"),
        ("metrics.a = 1 2", 15, "expected AND between clauses, got '2'"),
        ("tags.x = 'a' 'b'", 14, "expected AND"),
        ("metrics.a == 1", 11, "use '='"),
        ("metrics.a <> 1", 11, "use '!='"),
        ("metrics.a = +1", 13, "unexpected character"),
        ("metrics.a = 0x10", 13, "invalid number"),
        ("metrics.a = 1e", 13, "invalid number"),
        ("metrics.a-b = 1", 10, "backticks"),
        ("tags.a:b = 'x'", 7, "backticks"),
        ("tags.a = 'unterminated", 10, "unterminated"),
        ("metrics. a = 1", 10, "expected a key after '.'"),
        ("params.a NOT LIKE 'x'", 10, "NOT is only supported as NOT IN"),
        ("params.a IS NOT  nul", 18, "expected NULL"),
        # letters and digits outside ASCII are not identifier characters (they used to crash)
        ("métrics.a = 1", 2, "unexpected character 'é'"),
        ("tags.² = 'x'", 6, "unexpected character '²'"),
    ],
)
def test_syntax_errors_name_the_position(text, position, match):
    rejects(text, position=position, match=match)


def test_and_is_case_insensitive_and_spacing_optional():
    clauses = parse_filter("metrics.a=1 and params.p LIKE 'x' AnD tags.t ilike 'y'", g.RUNS)
    assert [(c.entity, c.comparator) for c in clauses] == [
        ("metric", "="),
        ("param", "LIKE"),
        ("tag", "ILIKE"),
    ]
    assert [c.position for c in clauses] == [1, 17, 39]


@pytest.mark.parametrize(
    "text, key",
    [
        ("tags.mlflow.runName = 'x'", "mlflow.runName"),  # split at the first dot only
        ("tags.`mlflow.runName` = 'x'", "mlflow.runName"),
        ("tags.\"mlflow.runName\" = 'x'", "mlflow.runName"),
        ("tags.`a b-c:d` = 'x'", "a b-c:d"),
        ("tags.\"a b\" = 'x'", "a b"),
        ("`tags`.a = 'x'", "a"),
        ("`tags`.`a b` = 'x'", "a b"),
        ("tags.1a = 'x'", "1a"),
        ("tags.a.b.c = 'x'", "a.b.c"),
        ("tags.`it``s` = 'x'", "it`s"),
    ],
)
def test_keys(text, key):
    assert one(text)[1] == key


@pytest.mark.parametrize(
    "text, value",
    [
        ("params.a = 'x'", "x"),
        ('params.a = "dq"', "dq"),
        ("params.a = ''", ""),
        ("params.a = 'it''s'", "it's"),
        ('params.a = "say ""hi"""', 'say "hi"'),
        ("params.a = 'C:\\dir'", "C:\\dir"),
        ("params.a = 'AND OR ; ('", "AND OR ; ("),
        ("metrics.a = 1", 1),
        ("metrics.a = -1", -1),
        ("metrics.a = 1.5", 1.5),
        ("metrics.a = .5", 0.5),
        ("metrics.a = -.5", -0.5),
        ("metrics.a = 1.", 1.0),
        ("metrics.a = 1e5", 100000.0),
        ("metrics.a >= -1.5e-3", -0.0015),
    ],
)
def test_values(text, value):
    got = one(text)[3]
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("spelling", ["like", "LIKE", "Like"])
def test_comparator_keywords_any_case(spelling):
    assert one(f"params.a {spelling} 'x%'")[2] == "LIKE"
    assert one(f"params.a i{spelling} 'x%'")[2] == "ILIKE"


@pytest.mark.parametrize("text", ["params.a is null", "params.a IS NULL", "params.a Is Null"])
def test_is_null_any_case(text):
    assert one(text)[2:] == ("IS NULL", None)


def test_is_not_null_and_not_in():
    assert one("params.a is not null")[2] == "IS NOT NULL"
    assert one("run_id not in ('a', \"b\")")[2:] == ("NOT IN", ("a", "b"))


# ---------------------------------------------------------------- search_runs
@pytest.mark.parametrize(
    "spelling, entity",
    [
        ("metrics", "metric"),
        ("metric", "metric"),
        ("params", "param"),
        ("param", "param"),
        ("parameters", "param"),
        ("parameter", "param"),
        ("tags", "tag"),
        ("tag", "tag"),
    ],
)
def test_run_entity_spellings(spelling, entity):
    value = "1" if entity == "metric" else "'1'"
    assert one(f"{spelling}.k = {value}")[:2] == (entity, "k")


@pytest.mark.parametrize("spelling", ["attributes", "attribute", "attr", "run", "`attributes`"])
def test_run_attribute_spellings(spelling):
    assert one(f"{spelling}.status = 'RUNNING'")[:2] == ("attribute", "status")
    assert one("status = 'RUNNING'")[:2] == ("attribute", "status")


@pytest.mark.parametrize("spelling", ["datasets", "dataset"])
def test_run_dataset_spellings(spelling):
    assert one(f"{spelling}.name = 'd'")[:2] == ("dataset", "name")


@pytest.mark.parametrize("bad", ["foo", "Metrics", "METRICS", "experiment", "model"])
def test_run_bad_entities(bad):
    rejects(f"{bad}.a = 1", match=f"invalid entity '{bad}'", position=1)


RUN_ACCEPTED = [
    *[("metrics.m", op, "1") for op in ("=", "!=", "<", "<=", ">", ">=")],
    *[("params.p", op, "'v'") for op in ("=", "!=", "LIKE", "ILIKE")],
    *[("tags.t", op, "'v'") for op in ("=", "!=", "LIKE", "ILIKE")],
    ("params.p", "IS NULL", ""),
    ("params.p", "IS NOT NULL", ""),
    ("tags.t", "IS NULL", ""),
    ("tags.t", "IS NOT NULL", ""),
    *[("attributes.run_id", op, "'v'") for op in ("=", "!=", "LIKE", "ILIKE")],
    ("attributes.run_id", "IN", "('a', 'b')"),
    ("attributes.run_id", "NOT IN", "('a')"),
    *[
        (f"attributes.{k}", op, "'v'")
        for k in ("run_name", "status", "user_id", "artifact_uri")
        for op in ("=", "!=", "LIKE", "ILIKE")
    ],
    *[("`run name`", op, "'v'") for op in ("=", "LIKE")],
    ("`Run name`", "=", "'v'"),
    ("`Run Name`", "=", "'v'"),
    *[
        (k, op, "5")
        for k in ("start_time", "end_time", "created", "Created")
        for op in ("=", "!=", "<", "<=", ">", ">=")
    ],
    *[
        (f"datasets.{k}", op, "'v'")
        for k in ("name", "digest", "context")
        for op in ("=", "!=", "LIKE", "ILIKE")
    ],
    *[(f"datasets.{k}", op, "('v')") for k in ("name", "digest", "context") for op in ("IN", "NOT IN")],
]


@pytest.mark.parametrize("ident, op, value", RUN_ACCEPTED)
def test_run_table_accepts(ident, op, value):
    (c,) = parse_filter(f"{ident} {op} {value}".strip(), g.RUNS)
    assert c.comparator == op


RUN_REJECTED = [
    ("metrics.m IS NULL", "not supported"),
    ("metrics.m IN ('1')", "support lists"),
    ("metrics.m LIKE 1", "not supported"),
    ("metrics.m = '1'", "unquoted number"),
    ("metrics.m = NaN", "expected a value"),
    ("params.p = 1", "quoted string"),
    ("params.p IN ('a')", "support lists"),
    ("params.p > 'a'", "not supported"),
    ("tags.t IN ('a')", "support lists"),
    ("tags.t = 1", "quoted string"),
    ("attributes.status IN ('a')", "only run_id"),
    ("attributes.user_id NOT IN ('a')", "only run_id"),
    ("run_id = 5", "quoted string"),
    ("run_id IN ()", "non-empty list"),
    ("run_id IN ('a', 1)", "quoted string in the list"),
    ("run_id IN 'a'", "parenthesized list"),
    ("run_id IN ('a' 'b')", "expected ',' or '\\)'"),
    ("run_name IN ('a')", "only run_id"),
    ("start_time = '1'", "unquoted number"),
    ("start_time IS NULL", "not supported"),
    ("end_time LIKE 1", "not supported"),
    ("start_time IN ('1')", "support lists"),
    ("timestamp > 1", "invalid attribute key 'timestamp'"),
    ("lifecycle_stage = 'active'", "invalid attribute key"),
    ("experiment_id = '1'", "invalid attribute key"),
    ("attributes.foo = 'x'", "invalid attribute key 'foo'"),
    ("datasets.source = 'x'", "invalid dataset key 'source'"),
    ("datasets.name IS NULL", "not supported"),
    ("datasets.name = 1", "quoted string"),
]


@pytest.mark.parametrize("text, match", RUN_REJECTED)
def test_run_table_rejects(text, match):
    rejects(text, match=match)


def test_run_aliases_are_canonical():
    assert one("created > 5")[:2] == ("attribute", "start_time")
    assert one("`Run Name` = 'x'")[:2] == ("attribute", "run_name")


def test_comparator_error_points_at_comparator():
    rejects("metrics.m IS NULL", position=11)
    rejects("attributes.status IN ('a')", position=19)


# ---------------------------------------------------------------- order_by
@pytest.mark.parametrize(
    "item, key",
    [
        ("metrics.a", OrderKey("metric", "a", True)),
        ("metrics.a desc", OrderKey("metric", "a", False)),
        ("metrics.a DESC", OrderKey("metric", "a", False)),
        ("metrics.a Asc", OrderKey("metric", "a", True)),
        ("`metrics`.a ASC", OrderKey("metric", "a", True)),
        ("metrics.`a b` DESC", OrderKey("metric", "a b", False)),
        ("params.x desc", OrderKey("param", "x", False)),
        ("tags.`x y`", OrderKey("tag", "x y", True)),
        ("attributes.start_time", OrderKey("attribute", "start_time", True)),
        ("start_time", OrderKey("attribute", "start_time", True)),
        ("created DESC", OrderKey("attribute", "start_time", False)),
        ("Created", OrderKey("attribute", "start_time", True)),
        ("run_name", OrderKey("attribute", "run_name", True)),
        ("`Run Name`", OrderKey("attribute", "run_name", True)),
        *[
            (k, OrderKey("attribute", k, True))
            for k in ("end_time", "run_id", "status", "user_id", "artifact_uri")
        ],
    ],
)
def test_run_order_by(item, key):
    assert parse_order_by([item], g.RUNS) == [key]


@pytest.mark.parametrize(
    "items, match",
    [
        (["start_time ASC DESC"], "position 16"),
        (["metrics.a descending"], "expected ASC, DESC"),
        (["name"], "invalid order_by attribute 'name'"),
        (["timestamp"], "invalid order_by attribute 'timestamp'"),
        (["datasets.name"], "not supported"),
        (["foo.a"], "invalid entity"),
        (["metrics.a", "metrics.a DESC"], "more than once"),
        (["start_time", "created DESC"], "more than once"),
        ([""], "expected '<field> \\[ASC\\|DESC\\]'"),
        ([5], "expected"),
    ],
)
def test_run_order_by_errors(items, match):
    with pytest.raises(InvalidParameterValue, match=match):
        parse_order_by(items, g.RUNS)


def test_bare_string_order_by_is_one_clause():
    assert parse_order_by("metrics.a DESC", g.RUNS) == [OrderKey("metric", "a", False)]


def test_run_tie_breakers():
    A = "attribute"
    assert resolve_order("runs", []) == [OrderKey(A, "start_time", False), OrderKey(A, "run_id", True)]
    assert resolve_order("runs", parse_order_by(["metrics.m"], g.RUNS)) == [
        OrderKey("metric", "m", True),
        OrderKey(A, "start_time", False),
        OrderKey(A, "run_id", True),
    ]
    assert resolve_order("runs", parse_order_by(["created ASC"], g.RUNS)) == [
        OrderKey(A, "start_time", True),
        OrderKey(A, "run_id", True),
    ]


# ---------------------------------------------------------------- experiments
@pytest.mark.parametrize(
    "text, expected",
    [
        ("name = 'x'", ("attribute", "name", "=", "x")),
        ("attribute.name LIKE 'x%'", ("attribute", "name", "LIKE", "x%")),
        ("name ILIKE 'x%'", ("attribute", "name", "ILIKE", "x%")),
        ("name != 'x'", ("attribute", "name", "!=", "x")),
        ("experiment_id = '1'", ("attribute", "experiment_id", "=", 1)),
        ("experiment_id != '12'", ("attribute", "experiment_id", "!=", 12)),
        ("experiment_id IN ('1', '2')", ("attribute", "experiment_id", "IN", (1, 2))),
        ("experiment_id NOT IN ('1')", ("attribute", "experiment_id", "NOT IN", (1,))),
        ("creation_time > 5", ("attribute", "creation_time", ">", 5)),
        ("last_update_time <= 5", ("attribute", "last_update_time", "<=", 5)),
        ("tags.a = 'x'", ("tag", "a", "=", "x")),
        ("tag.a IS NULL", ("tag", "a", "IS NULL", None)),
        ("tags.a IS NOT NULL", ("tag", "a", "IS NOT NULL", None)),
    ],
)
def test_experiment_filters(text, expected):
    assert one(text, g.EXPERIMENTS) == expected


@pytest.mark.parametrize(
    "text, match",
    [
        ("attributes.name = 'x'", "invalid entity 'attributes'"),
        ("name IN ('x')", "only experiment_id"),
        ("experiment_id > '1'", "not supported"),
        ("experiment_id = 1", "quoted string"),
        ("experiment_id = 'abc'", "expected an integer"),
        ("experiment_id IN ('1', 'x')", "expected an integer"),
        ("last_update_time >= '5'", "unquoted number"),
        ("lifecycle_stage = 'active'", "invalid attribute key"),
        ("metrics.a = 1", "invalid entity 'metrics'"),
        ("params.a = 'x'", "invalid entity"),
        ("tags.a IN ('x')", "support lists"),
    ],
)
def test_experiment_filter_errors(text, match):
    rejects(text, g.EXPERIMENTS, match=match)


def test_experiment_order_by_and_tie_breakers():
    A = "attribute"
    keys = parse_order_by(["name", "creation_time desc"], g.EXPERIMENTS)
    assert keys == [OrderKey(A, "name", True), OrderKey(A, "creation_time", False)]
    assert resolve_order("experiments", []) == [
        OrderKey(A, "creation_time", False),
        OrderKey(A, "experiment_id", True),
    ]
    assert resolve_order("experiments", keys)[-1] == OrderKey(A, "experiment_id", False)
    assert resolve_order("experiments", parse_order_by(["experiment_id"], g.EXPERIMENTS)) == [
        OrderKey(A, "experiment_id", True)
    ]
    for bad in (["tags.x"], ["foo"], ["last_updated_time"]):
        with pytest.raises(InvalidParameterValue):
            parse_order_by(bad, g.EXPERIMENTS)


# ---------------------------------------------------------------- registered models
@pytest.mark.parametrize(
    "text, expected",
    [
        ("name = 'x'", ("attribute", "name", "=", "x")),
        ("attribute.name != 'x'", ("attribute", "name", "!=", "x")),
        ("name LIKE 'x%'", ("attribute", "name", "LIKE", "x%")),
        ("name ILIKE 'x%'", ("attribute", "name", "ILIKE", "x%")),
        ("name IN ('x', 'y')", ("attribute", "name", "IN", ("x", "y"))),
        ("name NOT IN ('x')", ("attribute", "name", "NOT IN", ("x",))),
        ("tags.a = 'x'", ("tag", "a", "=", "x")),
        ("tag.`mlflow.prompt.is_prompt` != 'true'", ("tag", "mlflow.prompt.is_prompt", "!=", "true")),
        ("tags.a ILIKE 'x'", ("tag", "a", "ILIKE", "x")),
    ],
)
def test_registered_model_filters(text, expected):
    assert one(text, g.REGISTERED_MODELS) == expected


@pytest.mark.parametrize(
    "text",
    [
        "tags.a IS NULL",
        "tags.a IS NOT NULL",
        "attributes.name = 'x'",
        "description = 'x'",
        "name > 'a'",
        "tags.a IN ('x')",
        "creation_timestamp > 1",
    ],
)
def test_registered_model_filter_errors(text):
    rejects(text, g.REGISTERED_MODELS)


def test_registered_model_order_by():
    A = "attribute"
    assert parse_order_by(["timestamp DESC"], g.REGISTERED_MODELS) == [
        OrderKey(A, "last_updated_timestamp", False)
    ]
    assert resolve_order(
        "registered_models", parse_order_by(["last_updated_timestamp"], g.REGISTERED_MODELS)
    ) == [
        OrderKey(A, "last_updated_timestamp", True),
        OrderKey(A, "name", True),
    ]
    assert resolve_order("registered_models", []) == [OrderKey(A, "name", True)]
    for bad in (["creation_timestamp"], ["timestamp", "last_updated_timestamp"], ["tags.a"]):
        with pytest.raises(InvalidParameterValue):
            parse_order_by(bad, g.REGISTERED_MODELS)


def test_prompt_clause_is_implicit_unless_mentioned():
    implicit = Clause("tag", "mlflow.prompt.is_prompt", "!=", "true")
    assert with_implicit_clauses("registered_models", []) == [implicit]
    assert with_implicit_clauses("model_versions", []) == [implicit]
    mentioned = parse_filter("tags.`mlflow.prompt.is_prompt` = 'true'", g.REGISTERED_MODELS)
    assert with_implicit_clauses("registered_models", mentioned) == mentioned
    assert with_implicit_clauses("runs", []) == []


# ---------------------------------------------------------------- model versions
@pytest.mark.parametrize(
    "text, expected",
    [
        ("name = 'x'", ("attribute", "name", "=", "x")),
        ("name IN ('x')", ("attribute", "name", "IN", ("x",))),
        ("run_id NOT IN ('a')", ("attribute", "run_id", "NOT IN", ("a",))),
        ("run_id ILIKE 'a%'", ("attribute", "run_id", "ILIKE", "a%")),
        ("source_path LIKE 's3://%'", ("attribute", "source_path", "LIKE", "s3://%")),
        ("version_number = 1", ("attribute", "version_number", "=", 1)),
        ("version_number >= 2", ("attribute", "version_number", ">=", 2)),
        ("version_number = '3'", ("attribute", "version_number", "=", 3)),
        ("tags.a = 'x'", ("tag", "a", "=", "x")),
        ("tag.a LIKE 'x'", ("tag", "a", "LIKE", "x")),
    ],
)
def test_model_version_filters(text, expected):
    assert one(text, g.MODEL_VERSIONS) == expected


@pytest.mark.parametrize(
    "text, match",
    [
        ("version_number IN ('1')", "support lists"),
        ("version_number = 'x'", "expected an integer"),
        ("source_path IN ('a')", "support lists"),
        ("current_stage = 'x'", "invalid attribute key"),
        ("creation_timestamp > 1", "invalid attribute key"),
        ("tags.a IS NULL", "not supported"),
        ("run_id = 1", "quoted string"),
    ],
)
def test_model_version_filter_errors(text, match):
    rejects(text, g.MODEL_VERSIONS, match=match)


def test_model_version_order_by_and_tie_breakers():
    A = "attribute"
    assert resolve_order("model_versions", []) == [
        OrderKey(A, "last_updated_timestamp", False),
        OrderKey(A, "name", True),
        OrderKey(A, "version_number", False),
    ]
    keys = parse_order_by(["creation_timestamp ASC"], g.MODEL_VERSIONS)
    assert resolve_order("model_versions", keys) == [
        OrderKey(A, "creation_timestamp", True),
        OrderKey(A, "name", True),
        OrderKey(A, "version_number", False),
    ]
    keys = parse_order_by(["version_number", "name DESC"], g.MODEL_VERSIONS)
    assert resolve_order("model_versions", keys) == keys
    with pytest.raises(InvalidParameterValue):
        parse_order_by(["current_stage"], g.MODEL_VERSIONS)


# ---------------------------------------------------------------- logged models
@pytest.mark.parametrize(
    "text, expected",
    [
        ("name = 'x'", ("attribute", "name", "=", "x")),
        ("attributes.name LIKE 'x%'", ("attribute", "name", "LIKE", "x%")),
        ("model_type ILIKE 'x'", ("attribute", "model_type", "ILIKE", "x")),
        ("model_id IN ('m1', 'm2')", ("attribute", "model_id", "IN", ("m1", "m2"))),
        ("source_run_id NOT IN ('r')", ("attribute", "source_run_id", "NOT IN", ("r",))),
        ("metrics.acc > 0.5", ("metric", "acc", ">", 0.5)),
        ("params.p IN ('a')", ("param", "p", "IN", ("a",))),
        ("tags.`a b` != 'x'", ("tag", "a b", "!=", "x")),
        ("creation_time > 5", ("attribute", "creation_timestamp", ">", 5)),
        ("creation_timestamp <= 5", ("attribute", "creation_timestamp", "<=", 5)),
        ("last_updated_time >= 1", ("attribute", "last_updated_timestamp", ">=", 1)),
        ("status = 2", ("attribute", "status", "=", 2)),
        ("status = 'LOGGED_MODEL_READY'", ("attribute", "status", "=", 2)),
        ("status != 'READY'", ("attribute", "status", "!=", 2)),
        ("status IN ('LOGGED_MODEL_PENDING', '3')", ("attribute", "status", "IN", (1, 3))),
    ],
)
def test_logged_model_filters(text, expected):
    assert one(text, g.LOGGED_MODELS) == expected


@pytest.mark.parametrize(
    "text, match",
    [
        ("metric.a > 1", "invalid entity 'metric'"),
        ("param.a = 'x'", "invalid entity"),
        ("attribute.name = 'x'", "invalid entity"),
        ("tags.a IS NULL", "not supported"),
        ("metrics.a = 'x'", "unquoted number"),
        ("params.p = 1", "quoted string"),
        ("experiment_id = '1'", "invalid attribute key"),
        ("status = 'BOGUS'", "invalid value"),
        ("status = 9", "invalid value"),
        ("creation_timestamp > '5'", "unquoted number"),
        ("name > 'a'", "not supported"),
    ],
)
def test_logged_model_filter_errors(text, match):
    rejects(text, g.LOGGED_MODELS, match=match)


def test_logged_model_order_by():
    keys = parse_logged_model_order_by(
        [
            {"field_name": "metrics.acc", "ascending": False, "dataset_name": "d", "dataset_digest": "x"},
            {"field_name": "creation_time"},
            {"field_name": "name", "ascending": True},
        ]
    )
    assert keys == [
        OrderKey("metric", "acc", False, "d", "x"),
        OrderKey("attribute", "creation_timestamp", True),
        OrderKey("attribute", "name", True),
    ]
    assert resolve_order("logged_models", keys[2:]) == [
        keys[2],
        OrderKey("attribute", "creation_timestamp", False),
        OrderKey("attribute", "model_id", True),
    ]


@pytest.mark.parametrize(
    "order_by, match",
    [
        ([{"field_name": "params.x"}], "only attributes and metrics"),
        ([{"field_name": "foo"}], "valid names"),
        ([{"ascending": True}], "field_name"),
        (["name"], "field_name"),
        ([{"field_name": "name", "ascending": "yes"}], "ascending"),
        ([{"field_name": "creation_time"}, {"field_name": "creation_timestamp"}], "more than once"),
    ],
)
def test_logged_model_order_by_errors(order_by, match):
    with pytest.raises(InvalidParameterValue, match=match):
        parse_logged_model_order_by(order_by)


def test_tokenizer_positions():
    toks = tokenize("tags.`a b` = 'x'")
    assert [(t.kind, t.text, t.pos) for t in toks] == [
        ("WORD", "tags", 0),
        ("DOT", ".", 4),
        ("BACKTICK", "a b", 5),
        ("OP", "=", 11),
        ("SQUOTE", "x", 13),
        ("EOF", "", 16),
    ]
