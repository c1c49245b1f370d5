"""Promotion gates: small rules a version must pass before an alias moves to it.

A rule compares two arithmetic expressions over metric snapshots::

    metrics.auc >= champion.metrics.auc
    metrics.auc > 0.8
    metrics.latency_ms <= champion.metrics.latency_ms * 1.1
    metrics.auc >= champion.metrics.auc - 0.005

``metrics.<key>`` is the candidate version's metric, ``<alias>.metrics.<key>`` the metric of
the version an alias of the same model points at. Operators: ``> >= < <= = == !=``;
expressions take numbers, ``+ - * /`` and parentheses (put spaces around ``-``: metric keys
may contain dashes). Keys with other characters are backtick-quoted: ``metrics.`val auc```.

A rule that compares against an alias nobody has set yet (the first promotion to
``champion``) passes, and says so; a metric missing on either side fails the rule, as does a
NaN. Parsing happens before anything is written: a malformed rule is an InvalidArgument naming
the position, and nothing is recorded.

The lark parser is built on first use, so ``import shipyard`` stays light.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from shipyard.entities import GateResult
from shipyard.errors import InvalidArgument

if TYPE_CHECKING:
    from lark import Lark, Token, Tree

__all__ = ["Rule", "evaluate", "parse_rule"]

_GRAMMAR = r"""
?rule: sum COMP_OP sum
?sum: product | sum ADD_OP product
?product: atom | product MUL_OP atom
?atom: NUMBER -> number
     | REF -> ref
     | "-" atom -> negative
     | "(" sum ")"

REF: _SCOPE "." (_QUOTED_KEY | _KEY)
_SCOPE: /(metrics|[a-z][a-z0-9_\-]*\.metrics)(?=\.)/
_QUOTED_KEY: /`([^`\\]|\\[\s\S])*`/
_KEY: /[A-Za-z0-9_.:][A-Za-z0-9_\-.:]*/
NUMBER: /(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/
COMP_OP: /==|!=|<=|>=|=|<|>/
ADD_OP: /[+-]/
MUL_OP: /[*\/]/
%ignore /\s+/
"""

_WORDS = {
    "REF": "a metric such as metrics.auc or champion.metrics.auc",
    "NUMBER": "a number",
    "COMP_OP": "a comparison (>, >=, <, <=, =, !=)",
    "ADD_OP": "an operator",
    "MUL_OP": "an operator",
    "LPAR": "'('",
    "RPAR": "')'",
    "$END": "the end of the rule",
}


@dataclass(frozen=True, slots=True)
class Metric:
    """A metric of the candidate (``scope`` None) or of the version behind alias ``scope``."""

    scope: str | None
    key: str

    def __str__(self) -> str:
        return f"{self.scope}.metrics.{self.key}" if self.scope else f"metrics.{self.key}"


@dataclass(frozen=True, slots=True)
class Number:
    value: float


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str
    left: Operand
    right: Operand


Operand: TypeAlias = Metric | Number | BinOp

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
}
_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": lambda a, b: a / b if b else math.nan,
}


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed rule: ``left op right`` and the text it came from."""

    text: str
    left: Operand
    op: str
    right: Operand

    @property
    def aliases(self) -> set[str]:
        """The aliases whose versions the rule looks at."""
        found: set[str] = set()
        for side in (self.left, self.right):
            _collect_aliases(side, found)
        return found


def _collect_aliases(node: Operand, found: set[str]) -> None:
    if isinstance(node, Metric) and node.scope:
        found.add(node.scope)
    elif isinstance(node, BinOp):
        _collect_aliases(node.left, found)
        _collect_aliases(node.right, found)


@functools.cache
def _parser() -> Lark:
    from lark import Lark

    return Lark(_GRAMMAR, parser="lalr", start="rule", maybe_placeholders=False)


def parse_rule(text: str) -> Rule:
    """Parse one rule, or raise InvalidArgument (field ``require``) saying where it breaks."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

    if not isinstance(text, str) or not text.strip():
        raise InvalidArgument(
            "a promotion rule must be non-empty text such as 'metrics.auc > 0.8'",
            field="require",
        )
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        position = exc.pos_in_stream if exc.pos_in_stream is not None else len(text)
        expected: set[str] = set()
        if isinstance(exc, UnexpectedToken):
            expected = set(exc.accepts or exc.expected)
            if exc.token.type == "$END":
                position = len(text)
        elif isinstance(exc, UnexpectedCharacters):
            expected = set(exc.allowed or ())
        words = list(dict.fromkeys(word for name, word in _WORDS.items() if name in expected))
        snippet = text[position : position + 20]
        near = f"near {snippet!r}" if snippet else "at the end"
        raise InvalidArgument(
            f"promotion rule {text!r} has a syntax error at position {position} ({near}): "
            f"expected {' or '.join(words) or 'a rule like metrics.auc > 0.8'}",
            field="require",
            position=position,
        ) from None
    if getattr(tree, "data", None) != "rule":
        raise InvalidArgument(
            f"promotion rule {text!r} compares nothing: write e.g. 'metrics.auc > 0.8'",
            field="require",
        )
    left, op_token, right = tree.children
    return Rule(text.strip(), _operand(left), str(op_token), _operand(right))


def _operand(node: Tree[Token] | Token) -> Operand:
    from lark import Token

    if isinstance(node, Token):  # pragma: no cover - inlined rules always give trees
        raise InvalidArgument(f"unexpected {node!s} in promotion rule", field="require")
    if node.data == "number":
        return Number(float(str(node.children[0])))
    if node.data == "ref":
        return _metric(str(node.children[0]))
    if node.data == "negative":
        return BinOp("-", Number(0.0), _operand(node.children[0]))
    left, op, right = node.children
    assert isinstance(op, Token)
    return BinOp(str(op), _operand(left), _operand(right))


def _metric(text: str) -> Metric:
    head, _, key = text.partition("metrics.")
    if key.startswith("`"):
        key = key[1:-1].replace("\\`", "`").replace("\\\\", "\\")
    return Metric(head[:-1] or None, key)


# --------------------------------------------------------------------------------------------
# evaluation

#: What a rule may look at: an alias -> (version number, metrics), or None when unset.
AliasLookup = Callable[[str], "tuple[int, Mapping[str, float]] | None"]


class _Missing(Exception):
    """A metric the rule needs is not there."""


class _NoAlias(Exception):
    """The rule compares against an alias that is not set yet."""


def evaluate(rule: Rule, candidate: Mapping[str, float], lookup: AliasLookup) -> GateResult:
    """Check ``rule`` for a candidate with metric snapshot ``candidate``."""
    shown: dict[str, float] = {}

    def value(node: Operand) -> float:
        if isinstance(node, Number):
            return node.value
        if isinstance(node, BinOp):
            return _ARITHMETIC[node.op](value(node.left), value(node.right))
        if node.scope is None:
            metrics: Mapping[str, float] = candidate
            owner = "the candidate"
        else:
            target = lookup(node.scope)
            if target is None:
                raise _NoAlias(node.scope)
            metrics = target[1]
            owner = f"{node.scope} (version {target[0]})"
        if node.key not in metrics:
            raise _Missing(f"{owner} has no metric {node.key!r}")
        shown[str(node)] = metrics[node.key]
        return metrics[node.key]

    try:
        left, right = value(rule.left), value(rule.right)
    except _NoAlias as exc:
        return GateResult(rule.text, True, f"no {exc.args[0]} yet: nothing to compare against")
    except _Missing as exc:
        return GateResult(rule.text, False, str(exc))
    values = ", ".join(f"{k}={v:.6g}" for k, v in shown.items())
    if math.isnan(left) or math.isnan(right):
        return GateResult(rule.text, False, f"NaN cannot pass a gate ({values})")
    passed = _COMPARE[rule.op](left, right)
    symbol = rule.op if passed else _NEGATED[rule.op]
    return GateResult(rule.text, passed, f"{left:.6g} {symbol} {right:.6g}" + _suffix(values))


_NEGATED = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "=": "!=", "==": "!=", "!=": "="}


def _suffix(values: str) -> str:
    return f" ({values})" if values else ""
