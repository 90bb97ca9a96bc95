"""Filter and sort expressions over runs, parsed into SQLAlchemy expressions.

A filter reads like `metrics.val_accuracy > 0.9 and params.fit.batch_size = 64
and status = "completed"`. It is tokenized and parsed here (never formatted
into SQL): fields become columns or correlated subqueries from
`experiments.store.fields`, literals become bound parameters.

Grammar::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison
    comparison := field OP literal | field "in" "(" literal ("," literal)* ")"
                | field "is" ["not"] "null" | field "contains" STRING
    field      := run field | params.<dotted key> | metrics.<key>[.final|.best|.best_epoch]
                | best.<key> | tags.<key>
    OP         := "=" | "==" | "!=" | "<" | "<=" | ">" | ">="
    literal    := number | "string" | 'string' | true | false

Sort keys are fields, `-field` or `field desc` for descending, comma-separated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, not_, or_

from experiments.store.fields import RUN_FIELDS, metric_value, param_value, tag_value

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op><=|>=|==|!=|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false", "contains", "desc", "asc"}
_SUMMARY = {"final", "best", "best_epoch", "final_epoch"}


class FilterError(ValueError):
    """A filter or sort expression that cannot be parsed; the message points at the bad token."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


def _error(source: str, pos: int, message: str) -> FilterError:
    pointer = " " * pos + "^"
    return FilterError(f"{message} at position {pos + 1}:\n  {source}\n  {pointer}")


def tokenize(source: str) -> list[_Token]:
    """Split an expression into tokens; anything else (`;`, backticks, ...) is an error."""
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise _error(source, pos, f"unexpected character {source[pos]!r}")
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "ident" and text.lower() in _KEYWORDS:
            kind, text = "keyword", text.lower()
        if kind != "ws":
            tokens.append(_Token(kind, text, pos))
        pos = match.end()
    return tokens


def _literal_value(token: _Token, source: str) -> Any:
    if token.kind == "number":
        number = float(token.text)
        return int(number) if re.fullmatch(r"[-+]?\d+", token.text) else number
    if token.kind == "string":
        body = token.text[1:-1]
        return re.sub(r"\\(.)", r"\1", body)
    if token.kind == "keyword" and token.text in ("true", "false"):
        return token.text == "true"
    raise _error(
        source, token.pos, f"expected a number, a quoted string, true or false, got {token.text!r}"
    )


def field_expression(name: str, *, numeric: bool = False) -> ColumnElement[Any]:
    """The SQL expression behind a field name (see the module docstring).

    Args:
        name: `status`, `params.fit.batch_size`, `metrics.val_loss`, `best.val_accuracy`, ...
        numeric: compare a param as a number rather than as text.
    """
    head, _, rest = name.partition(".")
    if not rest:
        if name in RUN_FIELDS:
            return RUN_FIELDS[name]
        raise FilterError(
            f"unknown field {name!r}; use a run field ({', '.join(sorted(RUN_FIELDS))}), "
            "params.<key>, metrics.<key>, best.<key> or tags.<key>"
        )
    if head == "params":
        return param_value(rest, numeric=numeric)
    if head in ("metrics", "final", "best"):
        key, _, which = rest.partition(".")
        if head == "best":
            if which:
                raise FilterError(f"best.{rest}: use best.<metric> (a metric name has no dots)")
            which = "best"
        which = which or "final"
        if which not in _SUMMARY:
            raise FilterError(
                f"{name}: a metric field ends in .final, .best, .best_epoch or .final_epoch"
            )
        return metric_value(key, which)  # type: ignore[arg-type]
    if head == "tags":
        return tag_value(rest)
    raise FilterError(
        f"unknown field {name!r}; fields start with params., metrics., best. or tags., "
        "or are run fields such as status"
    )


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise _error(self.source, len(self.source), "the expression ends too early")
        self.i += 1
        return token

    def expect(self, kind: str, text: str | None = None) -> _Token:
        token = self.take()
        if token.kind != kind or (text is not None and token.text != text):
            want = text or kind
            raise _error(self.source, token.pos, f"expected {want!r}, got {token.text!r}")
        return token

    def at_keyword(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "keyword" and token.text == word

    def parse(self) -> ColumnElement[bool]:
        if not self.tokens:
            raise FilterError('the filter is empty; write e.g. status = "completed"')
        expr = self.or_expr()
        extra = self.peek()
        if extra is not None:
            raise _error(self.source, extra.pos, f"unexpected {extra.text!r}")
        return expr

    def or_expr(self) -> ColumnElement[bool]:
        parts = [self.and_expr()]
        while self.at_keyword("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else or_(*parts)

    def and_expr(self) -> ColumnElement[bool]:
        parts = [self.not_expr()]
        while self.at_keyword("and"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else and_(*parts)

    def not_expr(self) -> ColumnElement[bool]:
        if self.at_keyword("not"):
            self.take()
            return not_(self.not_expr())
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == "(":
            self.take()
            inner = self.or_expr()
            self.expect("punct", ")")
            return inner
        return self.comparison()

    def comparison(self) -> ColumnElement[bool]:
        token = self.take()
        if token.kind != "ident":
            raise _error(self.source, token.pos, f"expected a field name, got {token.text!r}")
        name = token.text
        nxt = self.take()
        try:
            if nxt.kind == "op":
                value = _literal_value(self.take(), self.source)
                column = field_expression(name, numeric=_is_number(value))
                return _compare(column, nxt.text, value)
            if nxt.kind == "keyword" and nxt.text == "in":
                self.expect("punct", "(")
                values = [_literal_value(self.take(), self.source)]
                while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                    self.take()
                    values.append(_literal_value(self.take(), self.source))
                self.expect("punct", ")")
                column = field_expression(name, numeric=all(_is_number(v) for v in values))
                return column.in_(values)
            if nxt.kind == "keyword" and nxt.text == "is":
                negate = self.at_keyword("not")
                if negate:
                    self.take()
                self.expect("keyword", "null")
                column = field_expression(name)
                return column.is_not(None) if negate else column.is_(None)
            if nxt.kind == "keyword" and nxt.text == "contains":
                needle = self.take()
                if needle.kind != "string":
                    raise _error(self.source, needle.pos, "contains takes a quoted string")
                text = _literal_value(needle, self.source)
                return field_expression(name).contains(text, autoescape=True)
        except FilterError as err:
            if "position" in str(err):
                raise
            raise _error(self.source, token.pos, str(err)) from None
        raise _error(
            self.source,
            nxt.pos,
            f"expected a comparison (=, !=, <, >, in, is, contains) after {name!r}",
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _compare(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    if isinstance(value, bool):
        value = "true" if value else "false"
    if op in ("=", "=="):
        return column == value
    if op == "!=":
        return column != value
    if op == "<":
        return column < value
    if op == "<=":
        return column <= value
    if op == ">":
        return column > value
    return column >= value


def parse_filter(expression: str) -> ColumnElement[bool]:
    """Parse a filter expression into a SQLAlchemy condition for `Store.list_runs(where=...)`.

    Args:
        expression: e.g. `metrics.val_accuracy > 0.9 and params.fit.batch_size = 64`.

    Raises:
        FilterError: the expression is malformed; the message points at the bad token.

    Example:
        >>> store.list_runs(where=parse_filter('status = "completed"'))
    """
    return _Parser(expression).parse()


def parse_sort(expression: str) -> list[ColumnElement[Any]]:
    """Parse sort keys (`-metrics.val_loss`, `params.fit.batch_size desc, id`) into orders.

    Missing values sort last either way.

    Raises:
        FilterError: a key is malformed or names an unknown field.
    """
    orders: list[ColumnElement[Any]] = []
    for part in expression.split(","):
        words = part.split()
        if not words:
            raise FilterError(f"empty sort key in {expression!r}; separate keys with commas")
        name, descending = words[0], False
        if name.startswith("-"):
            name, descending = name[1:], True
        if len(words) == 2 and words[1].lower() in ("asc", "desc"):
            descending = words[1].lower() == "desc"
        elif len(words) > 1:
            raise FilterError(f"bad sort key {part.strip()!r}; write FIELD, -FIELD or FIELD desc")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*", name):
            raise FilterError(f"bad sort field {name!r}; fields look like metrics.val_loss")
        numeric = name.startswith("params.")
        column = field_expression(name, numeric=numeric)
        orders.append((column.desc() if descending else column.asc()).nulls_last())
    return orders
