"""The typed AST of a run-search filter and ``order_by``: what :mod:`._filter` parses a
filter string into and :mod:`._search` compiles into SQL. Each node renders back to filter
text (``str(expr)``), which error messages quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "And",
    "Comparison",
    "Expr",
    "Field",
    "FieldKind",
    "Not",
    "Operator",
    "Or",
    "OrderKey",
    "Value",
    "render_value",
]


FieldKind: TypeAlias = Literal["metric", "param", "tag", "attribute"]
Operator: TypeAlias = Literal[
    "=", "!=", "<", "<=", ">", ">=",
    "in", "not in", "like", "not like", "ilike", "not ilike", "is null", "is not null",
]  # fmt: skip
Value: TypeAlias = int | float | str

_PREFIX_OF_KIND = {"metric": "metrics", "param": "params", "tag": "tags"}
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-.:]+")
_RENDER_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


@dataclass(frozen=True, slots=True)
class Field:
    """What a comparison or ordering looks at: a metric/param/tag key or a run attribute.

    For attributes ``key`` is the canonical attribute name (aliases already resolved).
    """

    kind: FieldKind
    key: str

    def __str__(self) -> str:
        if self.kind == "attribute":
            return self.key
        key = self.key if _PLAIN_KEY.fullmatch(self.key) else _quote(self.key, "`")
        return f"{_PREFIX_OF_KIND[self.kind]}.{key}"


@dataclass(frozen=True, slots=True)
class Comparison:
    """``field op value``. ``value`` is a tuple for ``in``/``not in`` and None for the null
    tests; values are already normalised (numbers for numeric fields, strings for params, tags
    and text attributes, upper-case for status)."""

    field: Field
    op: Operator
    value: Value | tuple[Value, ...] | None = None

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.field} {self.op}"
        if isinstance(self.value, tuple):
            return f"{self.field} {self.op} ({', '.join(map(render_value, self.value))})"
        return f"{self.field} {self.op} {render_value(self.value)}"


@dataclass(frozen=True, slots=True)
class And:
    """All operands hold."""

    operands: tuple[Expr, ...]

    def __str__(self) -> str:
        return " and ".join(_render_operand(e, inside_or=False) for e in self.operands)


@dataclass(frozen=True, slots=True)
class Or:
    """At least one operand holds."""

    operands: tuple[Expr, ...]

    def __str__(self) -> str:
        return " or ".join(_render_operand(e, inside_or=True) for e in self.operands)


@dataclass(frozen=True, slots=True)
class Not:
    """The operand does not hold (for a key comparison: the run lacks the key or its value
    fails the test)."""

    operand: Expr

    def __str__(self) -> str:
        if isinstance(self.operand, Comparison | Not):
            return f"not {self.operand}"
        return f"not ({self.operand})"


Expr: TypeAlias = Comparison | And | Or | Not


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One ``order_by`` entry: a field and a direction."""

    field: Field
    descending: bool = False

    def __str__(self) -> str:
        return f"{self.field} {'desc' if self.descending else 'asc'}"


def render_value(value: Value) -> str:
    if isinstance(value, str):
        return _quote(value, "'")
    return repr(value)


def _quote(text: str, quote: str) -> str:
    escapes = {**_RENDER_ESCAPES, quote: "\\" + quote}
    return quote + "".join(escapes.get(ch, ch) for ch in text) + quote


def _render_operand(expr: Expr, *, inside_or: bool) -> str:
    """Render an operand of and/or, adding the parentheses that keep its grouping."""
    bare = isinstance(expr, Comparison | Not) or (inside_or and isinstance(expr, And))
    return str(expr) if bare else f"({expr})"
