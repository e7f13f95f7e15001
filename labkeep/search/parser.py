"""Recursive-descent parser: filter strings -> ``Clause`` lists, order_by -> ``OrderKey`` lists.

Both are validated against a ``Grammar`` so an accepted clause is always one the SQL builder and
the in-memory evaluator know how to answer. Errors are ``InvalidParameterValue`` naming the
1-based position of the offending token.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.search import grammars as g
from labkeep.search.tokens import (
    BACKTICK,
    COMMA,
    DOT,
    DQUOTE,
    EOF,
    LPAREN,
    NUMBER,
    OP,
    RPAREN,
    SEMI,
    SQUOTE,
    WORD,
    Token,
    syntax_error,
    tokenize,
)

_ENTITY_LABEL = {
    g.METRIC: "metric",
    g.PARAM: "param",
    g.TAG: "tag",
    g.ATTRIBUTE: "attribute",
    g.DATASET: "dataset",
}


@dataclass(frozen=True)
class Clause:
    """One ``<entity>.<key> <comparator> <value>`` condition.

    ``value`` is a str, an int/float (numeric fields), a tuple (IN / NOT IN) or None (IS NULL).
    """

    entity: str
    key: str
    comparator: str
    value: Any
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class OrderKey:
    entity: str
    key: str
    ascending: bool = True
    dataset_name: str | None = None
    dataset_digest: str | None = None


class _Parser:
    def __init__(self, source: str, grammar: g.Grammar, what: str) -> None:
        self.source = source
        self.grammar = grammar
        self.what = what
        self.tokens = tokenize(source, what)
        self.i = 0

    # -- token helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        t = self.tokens[self.i]
        if t.kind != EOF:
            self.i += 1
        return t

    def error(self, tok: Token | int, message: str) -> InvalidParameterValue:
        pos = tok if isinstance(tok, int) else tok.pos
        return syntax_error(self.what, self.source, pos, message)

    # -- identifiers
    def identifier(self) -> tuple[str | None, str, Token]:
        """``[entity "."] key``; returns (entity spelling or None, key, first token)."""
        first = self.tok
        if first.kind not in (WORD, BACKTICK, DQUOTE) or first.keyword() in ("AND", "OR", "NOT"):
            raise self.error(first, self._expected_identifier(first))
        parts = [self.advance().text]
        while self.tok.kind == DOT:
            self.advance()
            nxt = self.tok
            if nxt.kind not in (WORD, BACKTICK, DQUOTE) or nxt.pos != self.tokens[self.i - 1].end:
                raise self.error(nxt, f"expected a key after '.', got {nxt.show()!r}")
            parts.append(self.advance().text)
        if len(parts) == 1:
            return None, parts[0], first
        return parts[0], ".".join(parts[1:]), first

    def _expected_identifier(self, tok: Token) -> str:
        kw = tok.keyword()
        if tok.kind == LPAREN:
            return "parentheses are not supported; join clauses with AND"
        if kw == "NOT":
            return "NOT is not supported; use != or NOT IN inside a clause"
        if kw in ("AND", "OR"):
            return f"expected a clause, got {tok.show()!r}"
        if tok.kind == SEMI:
            return "';' is not supported; join clauses with AND"
        if tok.kind == EOF:
            return "expected a clause, got end of input"
        return f"expected an identifier such as metrics.<key> or params.<key>, got {tok.show()!r}"

    def resolve(self, entity: str | None, key: str, tok: Token) -> tuple[str, str, g.Field]:
        gr = self.grammar
        if entity is None:
            canon = g.ATTRIBUTE
        elif entity in gr.entities:
            canon = gr.entities[entity]
        else:
            valid = ", ".join(sorted(gr.entities))
            raise self.error(tok, f"invalid entity {entity!r}; valid entities are: {valid}")
        spec = gr.fields.get(canon)
        if isinstance(spec, dict):
            if canon == g.ATTRIBUTE:
                key = gr.attribute_aliases.get(key, key)
            if key not in spec:
                valid = ", ".join(
                    sorted(set(spec) | set(gr.attribute_aliases if canon == g.ATTRIBUTE else ()))
                )
                raise self.error(tok, f"invalid {_ENTITY_LABEL[canon]} key {key!r}; valid keys are: {valid}")
            return canon, key, spec[key]
        if spec is None:
            raise self.error(tok, f"{_ENTITY_LABEL[canon]} filters are not supported here")
        if key == "":
            raise self.error(tok, "empty key")
        return canon, key, spec

    # -- filter
    def parse_filter(self) -> list[Clause]:
        clauses = [self.clause()]
        while True:
            t = self.tok
            if t.kind == EOF:
                return clauses
            if len(clauses) >= MAX_FILTER_CLAUSES:
                raise self.error(t, f"too many clauses (at most {MAX_FILTER_CLAUSES} joined with AND)")
            kw = t.keyword()
            if kw != "AND":
                if t.kind == SEMI:
                    raise self.error(t, "';' is not supported; join clauses with AND")
                if t.kind == LPAREN or t.kind == RPAREN:
                    raise self.error(t, "parentheses are not supported; join clauses with AND")
                raise self.error(t, f"expected AND between clauses, got {t.show()!r}")
            self.advance()
            if self.tok.kind == EOF:
                raise self.error(self.tok, "expected a clause after AND")
            clauses.append(self.clause())

    def clause(self) -> Clause:
        entity, key, first = self.identifier()
        canon, key, spec = self.resolve(entity, key, first)
        label = f"{_ENTITY_LABEL[canon]} {key!r}"
        comp_tok = self.tok
        comparator = self.comparator()
        if comparator not in spec.comparators:
            raise self.error(comp_tok, self._comparator_message(comparator, label, spec))
        if comparator in g.NULL_OPS:
            return Clause(canon, key, comparator, None, first.pos + 1)
        if comparator in g.LIST_OPS:
            value: Any = self.string_list(spec, label)
        else:
            value = self.scalar(spec, label)
        return Clause(canon, key, comparator, value, first.pos + 1)

    def _comparator_message(self, comparator: str, label: str, spec: g.Field) -> str:
        allowed = ", ".join(sorted(spec.comparators, key=_COMPARATOR_ORDER.index))
        if comparator in g.LIST_OPS:
            keys = self.grammar.list_keys()
            return f"{comparator} is not supported for {label}; only {', '.join(keys)} support lists"
        if comparator in g.NULL_OPS and self.grammar.three_token_clauses:
            return f"{comparator} is not supported in this filter"
        return f"comparator {comparator!r} is not supported for {label}; use one of: {allowed}"

    def comparator(self) -> str:
        t = self.tok
        if t.kind == OP:
            self.advance()
            if t.text == "==":
                raise self.error(t, "invalid comparator '=='; use '='")
            if t.text == "<>":
                raise self.error(t, "invalid comparator '<>'; use '!='")
            return t.text
        kw = t.keyword()
        if kw in ("LIKE", "ILIKE", "IN"):
            self.advance()
            return kw
        if kw == "NOT":
            self.advance()
            if self.tok.keyword() == "IN":
                self.advance()
                return "NOT IN"
            raise self.error(t, "NOT is only supported as NOT IN")
        if kw == "IS":
            self.advance()
            negate = False
            if self.tok.keyword() == "NOT":
                self.advance()
                negate = True
            if self.tok.keyword() != "NULL":
                raise self.error(self.tok, f"expected NULL after IS, got {self.tok.show()!r}")
            self.advance()
            return "IS NOT NULL" if negate else "IS NULL"
        raise self.error(
            t, f"expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS), got {t.show()!r}"
        )

    def scalar(self, spec: g.Field, label: str) -> Any:
        t = self.tok
        if t.kind not in (SQUOTE, DQUOTE, NUMBER):
            raise self.error(t, f"expected a value for {label}, got {t.show()!r}")
        self.advance()
        quoted = t.kind != NUMBER
        kind = spec.kind
        if kind == g.NUMBER:
            if quoted:
                raise self.error(t, f"expected an unquoted number for {label}, got {t.show()}")
            return _number(t.text)
        if kind == g.STRING:
            if not quoted:
                raise self.error(t, f"expected a quoted string for {label} (e.g. 'my-value'), got {t.text}")
            return t.text
        if kind == g.INT_STRING:
            if not quoted:
                raise self.error(t, f"expected a quoted string for {label} (e.g. '1'), got {t.text}")
            return self.integer(t, t.text, label)
        if kind == g.VERSION:
            return self.integer(t, t.text, label)
        if kind == g.STATUS:
            return self.status(t, t.text, quoted, label)
        raise AssertionError(kind)

    def integer(self, tok: Token, text: str, label: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise self.error(tok, f"expected an integer for {label}, got {tok.show()[:40]}")
        if not -(2**63) <= value <= 2**63 - 1:
            raise self.error(tok, f"{label} is out of the 64-bit integer range")
        return value

    def status(self, tok: Token, text: str, quoted: bool, label: str) -> int:
        from labkeep.entities.enums import LoggedModelStatus

        try:
            if not quoted or text.strip().isdigit():
                return LoggedModelStatus.to_int(int(float(text)))
            return LoggedModelStatus.to_int(text)
        except (InvalidParameterValue, ValueError):
            names = ", ".join(LoggedModelStatus._NUMBERS)
            raise self.error(tok, f"invalid value {tok.show()} for {label}; use one of {names} or 0-3")

    def string_list(self, spec: g.Field, label: str) -> tuple:
        open_tok = self.tok
        if open_tok.kind != LPAREN:
            raise self.error(
                open_tok, f"expected a parenthesized list of quoted strings, got {open_tok.show()!r}"
            )
        self.advance()
        items: list[Any] = []
        if self.tok.kind == RPAREN:
            raise self.error(self.tok, "expected a non-empty list of quoted strings")
        while True:
            t = self.tok
            if t.kind not in (SQUOTE, DQUOTE):
                raise self.error(t, f"expected a quoted string in the list, got {t.show()!r}")
            self.advance()
            if spec.kind == g.INT_STRING:
                items.append(self.integer(t, t.text, label))
            elif spec.kind == g.STATUS:
                items.append(self.status(t, t.text, True, label))
            else:
                items.append(t.text)
            if self.tok.kind == COMMA:
                self.advance()
                continue
            if self.tok.kind == RPAREN:
                self.advance()
                return tuple(items)
            raise self.error(self.tok, f"expected ',' or ')' in the list, got {self.tok.show()!r}")

    # -- order_by
    def order_key(self) -> OrderKey:
        entity, key, first = self.identifier()
        gr = self.grammar
        if entity is None:
            canon = g.ATTRIBUTE
        elif entity in gr.entities:
            canon = gr.entities[entity]
        else:
            raise self.error(
                first, f"invalid entity {entity!r}; valid entities are: {', '.join(sorted(gr.entities))}"
            )
        if canon not in gr.order_entities:
            raise self.error(first, f"ordering by {_ENTITY_LABEL[canon]}s is not supported here")
        if canon == g.ATTRIBUTE:
            if key not in gr.order_attributes:
                valid = ", ".join(sorted(gr.order_attributes))
                raise self.error(first, f"invalid order_by attribute {key!r}; valid attributes are: {valid}")
            key = gr.order_attributes[key]
        ascending = True
        t = self.tok
        if t.keyword() in ("ASC", "DESC"):
            ascending = t.keyword() == "ASC"
            self.advance()
        if self.tok.kind != EOF:
            raise self.error(self.tok, f"expected ASC, DESC or end of input, got {self.tok.show()!r}")
        return OrderKey(canon, key, ascending)


_COMPARATOR_ORDER = [
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "LIKE",
    "ILIKE",
    "IN",
    "NOT IN",
    "IS NULL",
    "IS NOT NULL",
]


MAX_FILTER_CLAUSES = 100


def _number(text: str) -> int | float:
    if not any(c in text for c in ".eE") and len(text) <= 19:
        value = int(text)
        if -(2**63) <= value <= 2**63 - 1:
            return value
    if len(text) > 400:  # no float needs more digits; refuse before converting absurd literals
        raise InvalidParameterValue(f"Number {text[:30]}… in the filter is too long.")
    return float(text)  # a long integer compares as a float (1e400 is infinity, as in the store)


def parse_filter(filter_string: str | None, grammar: g.Grammar) -> list[Clause]:
    """Parse and validate a filter; ``None``/blank means no filtering."""
    if filter_string is None or not str(filter_string).strip():
        return []
    if not isinstance(filter_string, str):
        raise InvalidParameterValue(f"Invalid filter {filter_string!r}: expected a string")
    return _Parser(filter_string, grammar, "filter").parse_filter()


def parse_order_by(order_by: Iterable[str] | None, grammar: g.Grammar) -> list[OrderKey]:
    """Parse order_by strings (``"<ident> [ASC|DESC]"``); a field listed twice is an error."""
    keys: list[OrderKey] = []
    if isinstance(order_by, str):  # a single clause passed bare
        order_by = [order_by]
    for item in order_by or ():
        if not isinstance(item, str) or not item.strip():
            raise InvalidParameterValue(f"Invalid order_by clause {item!r}: expected '<field> [ASC|DESC]'")
        key = _Parser(item, grammar, "order_by clause").order_key()
        _check_duplicate(keys, key, item)
        keys.append(key)
    return keys


def _check_duplicate(keys: list[OrderKey], key: OrderKey, item: Any) -> None:
    for k in keys:
        if (k.entity, k.key, k.dataset_name, k.dataset_digest) == (
            key.entity,
            key.key,
            key.dataset_name,
            key.dataset_digest,
        ):
            raise InvalidParameterValue(
                f"Invalid order_by clause {item!r}: {key.entity} {key.key!r} is ordered by more than once"
            )


def parse_logged_model_order_by(order_by: Iterable[Mapping[str, Any]] | None) -> list[OrderKey]:
    """order_by for search_logged_models: dicts ``{field_name, ascending, dataset_name, dataset_digest}``."""
    keys: list[OrderKey] = []
    gr = g.LOGGED_MODELS
    for item in order_by or ():
        if not isinstance(item, Mapping) or not isinstance(item.get("field_name"), str):
            raise InvalidParameterValue(
                f"Invalid order_by {item!r}: expected an object with a string field_name"
            )
        name = item["field_name"]
        ascending = item.get("ascending", True)
        if ascending is None:
            ascending = True
        if not isinstance(ascending, bool):
            raise InvalidParameterValue(f"Invalid order_by {item!r}: ascending must be true or false")
        ds_name, ds_digest = item.get("dataset_name"), item.get("dataset_digest")
        entity, _, rest = name.partition(".")
        if rest:
            if entity != "metrics" or not rest:
                raise InvalidParameterValue(
                    f"Invalid order_by field_name {name!r}: only attributes and metrics.<key> can be ordered by"
                )
            key = OrderKey(g.METRIC, rest, ascending, ds_name, ds_digest)
        elif name in gr.order_attributes:
            key = OrderKey(g.ATTRIBUTE, gr.order_attributes[name], ascending)
        else:
            valid = ", ".join(sorted(gr.order_attributes))
            raise InvalidParameterValue(
                f"Invalid order_by field_name {name!r}; valid names are {valid} or metrics.<key>"
            )
        _check_duplicate(keys, key, item)
        keys.append(key)
    return keys


def normalize_logged_model_order_by(order_by: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """A canonical JSON-able form of a logged-models order_by (for page-token echo checks)."""
    return [
        {
            "field_name": ("metrics." + k.key) if k.entity == g.METRIC else k.key,
            "ascending": k.ascending,
            "dataset_name": k.dataset_name,
            "dataset_digest": k.dataset_digest,
        }
        for k in parse_logged_model_order_by(order_by)
    ]


# ---------------------------------------------------------------- final order and implicit clauses
def _has(keys: list[OrderKey], entity: str, key: str) -> bool:
    return any(k.entity == entity and k.key == key for k in keys)


def resolve_order(api: str, keys: list[OrderKey]) -> list[OrderKey]:
    """The caller's order keys followed by the API's tie-breakers (a total order)."""
    A = g.ATTRIBUTE
    out = list(keys)
    if api == "runs":
        if not _has(out, A, "start_time"):
            out.append(OrderKey(A, "start_time", False))
        if not _has(out, A, "run_id"):
            out.append(OrderKey(A, "run_id", True))
    elif api == "experiments":
        if not out:
            out = [OrderKey(A, "creation_time", False), OrderKey(A, "experiment_id", True)]
        elif not _has(out, A, "experiment_id"):
            out.append(OrderKey(A, "experiment_id", False))
    elif api == "registered_models":
        if not _has(out, A, "name"):
            out.append(OrderKey(A, "name", True))
    elif api == "model_versions":
        if not out:
            out = [OrderKey(A, "last_updated_timestamp", False)]
        if not _has(out, A, "name"):
            out.append(OrderKey(A, "name", True))
        if not _has(out, A, "version_number"):
            out.append(OrderKey(A, "version_number", False))
    elif api == "logged_models":
        if not _has(out, A, "creation_timestamp"):
            out.append(OrderKey(A, "creation_timestamp", False))
        if not _has(out, A, "model_id"):
            out.append(OrderKey(A, "model_id", True))
    else:
        raise ValueError(api)
    return out


def with_implicit_clauses(api: str, clauses: list[Clause]) -> list[Clause]:
    """Registry searches hide prompts unless the filter mentions the prompt tag."""
    if api in ("registered_models", "model_versions") and not any(
        c.entity == g.TAG and c.key == g.PROMPT_TAG for c in clauses
    ):
        return [*clauses, Clause(g.TAG, g.PROMPT_TAG, "!=", "true")]
    return clauses


def numeric_compare(a: float, op: str, b: float) -> bool:
    """``a op b`` with IEEE semantics (NaN only satisfies '!=')."""
    if op == "=":
        return a == b
    if op == "!=":
        return a != b or (math.isnan(a) or math.isnan(b))
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    raise ValueError(op)
