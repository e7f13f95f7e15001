"""Tokenizer for search filters and order_by strings.

Produces a flat list of ``Token``s with their character offsets so the parser can point at the
offending position. Quoting: ``'…'`` and ``"…"`` are strings (``"…"`` also names a key),
`` `…` `` names an entity or key; a doubled quote character inside stands for itself
(``'it''s'``). Backslashes are ordinary characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labkeep.exceptions import InvalidParameterValue

# Kinds
WORD = "WORD"  # bare identifier part or keyword: [A-Za-z_][A-Za-z0-9_]*
DOT = "DOT"  # '.' joining identifier parts (no whitespace around it)
BACKTICK = "BACKTICK"  # `quoted identifier`
DQUOTE = "DQUOTE"  # "double quoted" (a key in identifier position, a string as a value)
SQUOTE = "SQUOTE"  # 'single quoted' string
NUMBER = "NUMBER"
OP = "OP"  # = != <> == < <= > >=
LPAREN = "LPAREN"
RPAREN = "RPAREN"
COMMA = "COMMA"
SEMI = "SEMI"
EOF = "EOF"

KEYWORDS = frozenset({"AND", "OR", "NOT", "IS", "NULL", "IN", "LIKE", "ILIKE", "ASC", "DESC"})

_NUMBER_RE = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY_PART_RE = re.compile(r"[A-Za-z0-9_]+")  # after a dot a key part may start with a digit
_OPS = ("!=", "<>", "==", "<=", ">=", "<", ">", "=")
_PUNCT = {"(": LPAREN, ")": RPAREN, ",": COMMA, ";": SEMI}
_QUOTES = {"'": SQUOTE, '"': DQUOTE, "`": BACKTICK}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str  # raw text; for quoted tokens the unquoted content
    pos: int  # 0-based offset of the first character
    end: int  # 0-based offset just past the last character

    def keyword(self) -> str | None:
        """The upper-cased keyword this token spells, if it is a bare keyword."""
        if self.kind == WORD and self.text.upper() in KEYWORDS:
            return self.text.upper()
        return None

    def show(self) -> str:
        """The token as the user wrote it, for error messages."""
        if self.kind == EOF:
            return "end of input"
        if self.kind in (SQUOTE, DQUOTE, BACKTICK):
            q = {SQUOTE: "'", DQUOTE: '"', BACKTICK: "`"}[self.kind]
            return q + self.text.replace(q, q + q) + q
        return self.text


def syntax_error(what: str, source: str, pos: int, message: str) -> InvalidParameterValue:
    """An error naming the input and the 1-based position it refers to."""
    return InvalidParameterValue(f"Invalid {what} {source!r} at position {pos + 1}: {message}")


def tokenize(source: str, what: str = "filter") -> list[Token]:
    """Split ``source`` into tokens, ending with an EOF token."""
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        prev = tokens[-1] if tokens else None
        adjacent = prev is not None and prev.end == i
        if ch == "." and adjacent and prev.kind in (WORD, BACKTICK, DQUOTE):
            tokens.append(Token(DOT, ".", i, i + 1))
            i += 1
            continue
        if adjacent and prev.kind == DOT and ch.isdigit():
            m = _KEY_PART_RE.match(source, i)
            if m is None:
                raise syntax_error(what, source, i, f"unexpected character {ch!r}")
            tokens.append(Token(WORD, m.group(), i, m.end()))
            i = m.end()
            continue
        if ch.isalpha() or ch == "_":
            m = _WORD_RE.match(source, i)
            if m is None:  # a non-ASCII letter: names outside quotes/backticks are ASCII
                raise syntax_error(
                    what, source, i, f"unexpected character {ch!r}; put non-ASCII names in backticks"
                )
            tokens.append(Token(WORD, m.group(), i, m.end()))
            i = m.end()
            continue
        if ch.isdigit() or (ch in "-." and i + 1 < n and (source[i + 1].isdigit() or source[i + 1] == ".")):
            m = _NUMBER_RE.match(source, i)
            if m is None:
                raise syntax_error(what, source, i, f"unexpected character {ch!r}")
            j = m.end()
            if j < n and (source[j].isalnum() or source[j] in "_."):
                raise syntax_error(what, source, i, f"invalid number {source[i : j + 1]!r}")
            tokens.append(Token(NUMBER, m.group(), i, j))
            i = j
            continue
        if ch in _QUOTES:
            text, j = _read_quoted(source, i, what)
            tokens.append(Token(_QUOTES[ch], text, i, j))
            i = j
            continue
        op = next((o for o in _OPS if source.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token(OP, op, i, i + len(op)))
            i += len(op)
            continue
        if ch in _PUNCT:
            tokens.append(Token(_PUNCT[ch], ch, i, i + 1))
            i += 1
            continue
        hint = ""
        if adjacent and prev.kind in (WORD, BACKTICK, DQUOTE):
            hint = "; quote keys containing it with backticks, e.g. metrics.`my-key`"
        raise syntax_error(what, source, i, f"unexpected character {ch!r}{hint}")
    tokens.append(Token(EOF, "", n, n))
    return tokens


def _read_quoted(source: str, start: int, what: str) -> tuple[str, int]:
    q = source[start]
    parts: list[str] = []
    i = start + 1
    while True:
        j = source.find(q, i)
        if j < 0:
            raise syntax_error(what, source, start, f"unterminated quoted text starting with {q}")
        parts.append(source[i:j])
        if source.startswith(q + q, j):  # doubled quote = the quote character itself
            parts.append(q)
            i = j + 2
            continue
        return "".join(parts), j + 1
