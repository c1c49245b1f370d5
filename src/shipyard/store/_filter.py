"""The run-search filter language: parse a filter string into a small typed AST (its nodes
are in :mod:`._filter_ast`).

A filter reads like a SQL ``WHERE`` clause over one run::

    metrics.auc > 0.9 and params.model in ('xgb', 'lgbm') and not tags.`needs review` is null

Grammar (keywords are case-insensitive, keys are case-sensitive):

- ``expr := expr or expr | expr and expr | not expr | ( expr ) | comparison``;
  ``not`` binds tighter than ``and``, which binds tighter than ``or``.
- ``comparison := field op value | field [not] in (value, ...) | field [not] (like|ilike) 'pattern'
  | field is [not] null``, with ``op`` one of ``= == != <> < <= > >=``.
- ``field := metrics.<key> | params.<key> | tags.<key> | [attributes.|attr.]<attribute>``; a key
  is made of letters, digits and ``_ - . :`` (``metrics.val.auc`` is key ``val.auc``) or is
  backtick-quoted (``params.`my key```). Attributes: status, name (alias run_name), run_id
  (alias id), start_time, end_time, user, parent_run_id, duration (end - start, in ms). Prefixes
  and attribute names are case-insensitive; ``metric.``, ``param.``, ``tag.``, ``attribute.``
  work too.
- ``value := number | 'string' | "string"``; strings take the backslash escapes ``\\\\ \\' \\"
  \\` \\n \\t \\r`` and keep any other backslash as is (so ``like 'a\\_b'`` matches a literal
  underscore).

Parsing checks the meaning too, so a bad filter fails before any SQL runs: metrics and time
attributes compare as numbers, params/tags and text attributes as strings (a number given for
them is compared against its string form: ``params.depth = 5`` matches ``'5'``), and status
values must be one of :data:`RUN_STATUSES`. Syntax errors raise
:class:`~shipyard.errors.FilterSyntaxError` with the 0-based position and what was expected
there, in words; meaning errors raise :class:`~shipyard.errors.InvalidArgument`.

The parser is a lark LALR(1) parser built once, on first use: lark is imported lazily so that
``import shipyard`` stays fast.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

from shipyard.entities import RUN_STATUSES
from shipyard.errors import FilterSyntaxError, InvalidArgument
from shipyard.store._filter_ast import (
    And,
    Comparison,
    Expr,
    Field,
    FieldKind,
    Not,
    Operator,
    Or,
    OrderKey,
    Value,
    render_value,
)

if TYPE_CHECKING:
    from lark import Lark, Token, Tree
    from lark.exceptions import UnexpectedInput

__all__ = [
    "ATTRIBUTES",
    "MAX_FILTER_CLAUSES",
    "MAX_FILTER_DEPTH",
    "MAX_FILTER_VALUES",
    "NULLABLE_ATTRIBUTES",
    "RUN_STATUSES",
    "And",
    "Comparison",
    "Expr",
    "Field",
    "Not",
    "Operator",
    "Or",
    "OrderKey",
    "parse_filter",
    "parse_order_by",
]

#: The most comparisons one filter may hold (each becomes a SQL condition; databases refuse
#: expressions past a depth of about 1,000). Documented in docs/search.md.
MAX_FILTER_CLAUSES = 200
#: The most values all the ``in (...)`` lists of one filter may hold together.
MAX_FILTER_VALUES = 10_000
#: The deepest nesting of parentheses and ``not`` a filter may have.
MAX_FILTER_DEPTH = 32

#: Attribute name -> how its values compare.
ATTRIBUTES: dict[str, Literal["text", "number", "status"]] = {
    "status": "status",
    "name": "text",
    "run_id": "text",
    "start_time": "number",
    "end_time": "number",
    "user": "text",
    "parent_run_id": "text",
    "duration": "number",
}
#: Attributes a run may lack (a running run has no end time, a top-level run no parent).
NULLABLE_ATTRIBUTES = frozenset({"end_time", "duration", "parent_run_id"})
_ATTRIBUTE_ALIASES = {"id": "run_id", "run_name": "name"}
_PREFIXES: dict[str, FieldKind] = {
    "metrics": "metric", "metric": "metric",
    "params": "param", "param": "param",
    "tags": "tag", "tag": "tag",
    "attributes": "attribute", "attribute": "attribute", "attr": "attribute",
}  # fmt: skip

_NUMERIC_OPS = frozenset({"=", "!=", "<", "<=", ">", ">=", "in", "not in"})
_TEXT_OPS = frozenset({"=", "!=", "in", "not in", "like", "not like", "ilike", "not ilike"})
_STATUS_OPS = frozenset({"=", "!=", "in", "not in"})
_NULL_OPS = frozenset({"is null", "is not null"})
_COMPARISON_ALIASES = {"==": "=", "<>": "!="}
_OP_ORDER = ("=", "!=", "<", "<=", ">", ">=", "in", "not in", "like", "not like", "ilike",
             "not ilike")  # fmt: skip

#: Integer literals of more digits are past every finite float (and Python's limit on
#: parsing integers): out of range. Numbers past 64 bits compare as floats, since the
#: databases refuse wider integers.
_MAX_INT_DIGITS = 308
_INT64 = range(-(2**63), 2**63)

_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "`": "`", "n": "\n", "t": "\t", "r": "\r"}


# --------------------------------------------------------------------------------------------
# Grammar and parser

_GRAMMAR = r"""
?filter: or_expr
?or_expr: and_expr (OR and_expr)*
?and_expr: not_expr (AND not_expr)*
?not_expr: NOT not_expr -> negation
         | comparison
         | _LPAR or_expr _RPAR
comparison: FIELD COMP_OP value
          | FIELD IS NOT? NULL
          | FIELD NOT? IN _LPAR value (_COMMA value)* _RPAR
          | FIELD NOT? (LIKE | ILIKE) STRING
?value: NUMBER | STRING

order_item: FIELD (ASC | DESC)?

FIELD: _NAME ("." (_QUOTED_KEY | _KEY))?
_NAME: /(?!(?i:and|or|not|is|in|like|ilike|null|asc|desc)\b)[A-Za-z_][A-Za-z0-9_]*/
_QUOTED_KEY: /`([^`\\]|\\[\s\S])*`/
_KEY: /[A-Za-z0-9_\-.:]*/
NUMBER: /[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/
STRING: /"([^"\\]|\\[\s\S])*"/ | /'([^'\\]|\\[\s\S])*'/
COMP_OP: /==|!=|<>|<=|>=|=|<|>/
AND.2: /and\b/i
OR.2: /or\b/i
NOT.2: /not\b/i
IS.2: /is\b/i
IN.2: /in\b/i
LIKE.2: /like\b/i
ILIKE.2: /ilike\b/i
NULL.2: /null\b/i
ASC.2: /asc\b/i
DESC.2: /desc\b/i
_LPAR: "("
_RPAR: ")"
_COMMA: ","
%ignore /\s+/
"""

_KEYWORDS = frozenset({"IS", "NOT", "NULL", "IN", "LIKE", "ILIKE"})
#: Distinct filters and order keys whose parse is kept (each a few hundred bytes).
_PARSED_CACHE = 512
_VALUE = "a value (number or quoted string)"
_OPERATOR = "a comparison operator"
_OPERATOR_LIST = " (=, !=, <, <=, >, >=, like, ilike, in, not in, is null)"
#: Lark terminal names -> words for error messages, in the order they are listed.
_EXPECTED_WORDS = {
    "FIELD": "a field such as metrics.auc",
    "NUMBER": "a number",
    "STRING": "a quoted string",
    "COMP_OP": _OPERATOR,
    "IN": _OPERATOR,
    "LIKE": _OPERATOR,
    "ILIKE": _OPERATOR,
    "IS": _OPERATOR,
    "NOT": "'not'",
    "NULL": "'null'",
    "_LPAR": "'('",
    "_COMMA": "','",
    "AND": "'and'",
    "OR": "'or'",
    "_RPAR": "')'",
    "ASC": "'asc'",
    "DESC": "'desc'",
    "$END": "the end of the input",
}


@functools.cache
def _parser() -> Lark:
    """The LALR parser, built on first use (lark is imported here, not at module import)."""
    from lark import Lark

    return Lark(_GRAMMAR, parser="lalr", start=["filter", "order_item"], maybe_placeholders=False)


def _parse(text: str, start: str, what: str) -> Tree[Token]:
    """Parse ``text`` from rule ``start``, turning lark's errors into ours.

    Parsing goes token by token so that, on an error, we know the tokens before it: the last
    one for "after Y", and all of them to replay and ask the parser what it would accept.
    """
    from lark import Token
    from lark.exceptions import UnexpectedInput, UnexpectedToken

    interactive = _parser().parse_interactive(text, start=start)
    seen: list[Token] = []
    try:
        for token in interactive.iter_parse():
            seen.append(token)
        end = Token("$END", "", start_pos=len(text))
        tree: Tree[Token] = interactive.feed_token(end)
    except UnexpectedInput as exc:
        if isinstance(exc, UnexpectedToken) and seen and exc.token is seen[-1]:
            seen.pop()  # the parser refused it: it is not part of the accepted prefix
        raise _describe_error(exc, text, seen, start, what) from None
    return tree


def _accepted_after(tokens: list[Token], start: str) -> set[str]:
    """The terminals the parser accepts after ``tokens``. Exact, unlike the LALR state's
    lookahead set, which may list tokens that only fit another path (e.g. ',' after a value
    outside any ``in (...)`` list)."""
    interactive = _parser().parse_interactive("", start=start)
    for token in tokens:
        interactive.feed_token(token)
    accepted: set[str] = interactive.accepts()  # type: ignore[no-untyped-call]  # lark: untyped
    return accepted


def _describe_error(
    exc: UnexpectedInput, text: str, fed: list[Token], start: str, what: str
) -> InvalidArgument:
    """Describe a lark error in words: position, the text there, what was expected, after what."""
    from lark.exceptions import UnexpectedToken

    at_end = isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    position = len(text) if at_end else (exc.pos_in_stream or 0)
    near = "at the end" if at_end else f'near "{_snippet(text, position)}"'
    if not at_end and text[position] in "'\"`":
        quote = text[position]
        return _syntax_error(
            what, position, f"unterminated quoted text (add the closing {quote})",
            [f"a closing {quote}"], near,
        )  # fmt: skip
    expected = _expected_words(_accepted_after(fed, start))
    problem = "expected " + _join_words(
        [w + _OPERATOR_LIST if w == _OPERATOR else w for w in expected]
    )
    if fed:
        problem += f" after '{fed[-1]}'"
    return _syntax_error(what, position, problem, expected, near)


def _syntax_error(
    what: str, position: int, problem: str, expected: list[str], near: str | None = None
) -> InvalidArgument:
    """FilterSyntaxError for a filter; InvalidArgument naming ``order_by`` for an order key."""
    where = f"position {position}" + (f" ({near})" if near else "")
    message = f"{what} syntax error at {where}: {problem}"
    if what == "filter":
        return FilterSyntaxError(message, position=position, expected=expected)
    return InvalidArgument(message, field=what, position=position, expected=expected)


def _snippet(text: str, position: int, width: int = 20) -> str:
    piece = text[position : position + width]
    return piece + "..." if len(text) > position + width else piece


def _expected_words(terminals: Iterable[str]) -> list[str]:
    """Lark terminal names as words, deduplicated, in a fixed readable order."""
    names = set(terminals)
    if names & {"COMP_OP", "IN", "LIKE", "IS"}:
        names.discard("NOT")  # "not in"/"not like" are part of the operator wording
    words = [word for name, word in _EXPECTED_WORDS.items() if name in names]
    if "a number" in words and "a quoted string" in words:
        words = [w for w in words if w != "a quoted string"]
        words[words.index("a number")] = _VALUE
    return list(dict.fromkeys(words))


def _join_words(words: list[str]) -> str:
    if len(words) <= 1:
        return words[0] if words else "something else"
    return ", ".join(words[:-1]) + " or " + words[-1]


# --------------------------------------------------------------------------------------------
# Tree -> AST, with the meaning checks


def parse_filter(text: str | None) -> Expr | None:
    """Parse and check a filter string; None for an empty filter (every run matches).

    Raises FilterSyntaxError for malformed text and InvalidArgument (field ``"filter"``) for a
    well-formed filter that does not make sense (unknown attribute, wrong value type...).
    """
    if text is None or not text.strip():
        return None
    return _parsed_filter(text)


@functools.lru_cache(maxsize=_PARSED_CACHE)
def _parsed_filter(text: str) -> Expr:
    """The AST of a non-empty filter, kept for the next search with the same text (the AST
    is immutable; a dashboard repeats its searches, and parsing is a large share of a
    search's Python time). A filter that fails raises each time: errors are not cached."""
    tree = _parse(text, "filter", "filter")
    _check_size(tree)
    return _build_expr(tree)


def _check_size(tree: Tree[Token]) -> None:
    """Refuse a filter past the documented limits before any SQL is built (a database would
    refuse it as an error that looks like an outage). Walks the tree without recursion."""
    from lark import Token, Tree

    clauses = values = depth = 0
    stack: list[tuple[Tree[Token], int]] = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        nested = [child for child in node.children if isinstance(child, Tree)]
        if not nested:  # a comparison: a field, an operator and its values
            clauses += 1
            values += sum(
                1 for t in node.children if isinstance(t, Token) and t.type in ("NUMBER", "STRING")
            )
        depth = max(depth, level)
        stack.extend((child, level + 1) for child in nested)
    for amount, limit, what in (
        (clauses, MAX_FILTER_CLAUSES, "comparisons"),
        (values, MAX_FILTER_VALUES, "values"),
        (depth, MAX_FILTER_DEPTH, "levels of nesting"),
    ):
        if amount > limit:
            raise InvalidArgument(
                f"the filter has {amount:,} {what}; the limit is {limit:,} (see docs/search.md): "
                "narrow it, or split the search and combine the results",
                field="filter",
                limit=limit,
            )


def parse_order_by(items: Sequence[str] | str | None) -> list[OrderKey]:
    """Parse ``order_by`` entries such as ``"metrics.auc desc"`` or ``"start_time"`` (ascending
    unless ``desc``). A single string is taken as a one-entry list. Errors name field
    ``"order_by"``."""
    if items is None:
        return []
    if isinstance(items, str):
        items = [items]
    keys = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidArgument(
                f"order_by entries must be strings like 'metrics.auc desc', got {item!r}",
                field="order_by",
            )
        keys.append(_parsed_order_item(item))
    return keys


@functools.lru_cache(maxsize=_PARSED_CACHE)
def _parsed_order_item(item: str) -> OrderKey:
    """One parsed ``order_by`` entry, kept like :func:`_parsed_filter`'s ASTs."""
    tree = _parse(item, "order_item", "order_by")
    field_token, *direction = tree.children
    field = _resolve_field(_token(field_token), "order_by")
    return OrderKey(field, bool(direction) and _token(direction[0]).type == "DESC")


def _token(node: Tree[Token] | Token) -> Token:
    from lark import Token

    assert isinstance(node, Token)
    return node


def _build_expr(tree: Tree[Token]) -> Expr:
    """Turn one node of the parse tree into its AST node."""
    from lark import Tree

    operands = tuple(_build_expr(c) for c in tree.children if isinstance(c, Tree))
    if tree.data == "or_expr":
        return Or(operands)
    if tree.data == "and_expr":
        return And(operands)
    if tree.data == "negation":
        return Not(operands[0])
    return _build_comparison([_token(c) for c in tree.children])


def _build_comparison(tokens: list[Token]) -> Comparison:
    field_token, *rest = tokens
    field = _resolve_field(field_token, "filter")
    words = [t.lower() for t in rest if t.type in _KEYWORDS]
    literals = [_literal(t) for t in rest if t.type in ("NUMBER", "STRING")]
    if rest[0].type == "COMP_OP":
        op = _COMPARISON_ALIASES.get(str(rest[0]), str(rest[0]))
    else:
        op = " ".join(words)
    _check_operator(field, op, field_token)
    value: Value | tuple[Value, ...] | None = None
    if op in ("in", "not in"):
        value = tuple(_check_value(field, op, v, field_token) for v in literals)
    elif literals:
        value = _check_value(field, op, literals[0], field_token)
    return Comparison(field, op, value)  # type: ignore[arg-type]  # op checked above


def _resolve_field(token: Token, where: str) -> Field:
    """Split ``prefix.key`` (or a bare attribute) into a Field, resolving aliases."""
    prefix, dot, key = str(token).partition(".")
    if dot and key.startswith("`"):
        key = _unescape(key[1:-1])
    kind = _PREFIXES.get(prefix.lower()) if dot else "attribute"
    if not dot:
        key = prefix
    if kind is None:
        raise InvalidArgument(
            f"unknown field {str(token)!r} in {where}: a field is metrics.<key>, params.<key>, "
            f"tags.<key> or an attribute ({', '.join(ATTRIBUTES)})",
            field=where,
            position=token.start_pos,
        )
    if not key:
        raise _syntax_error(
            where, token.end_pos or 0, f"expected a key after '{prefix}.'", ["a key"]
        )
    if kind == "attribute":
        return Field("attribute", _attribute_name(key, token, where))
    return Field(kind, key)


def _attribute_name(name: str, token: Token, where: str) -> str:
    canonical = _ATTRIBUTE_ALIASES.get(name.lower(), name.lower())
    if canonical not in ATTRIBUTES:
        raise InvalidArgument(
            f"unknown attribute {name!r} in {where}: valid attributes are "
            f"{', '.join(ATTRIBUTES)} (id is an alias of run_id); for a metric, param or tag "
            f"write metrics.{name}, params.{name} or tags.{name}",
            field=where,
            position=token.start_pos,
        )
    return canonical


def _literal(token: Token) -> Value:
    """The Python value of a NUMBER or STRING token."""
    text = str(token)
    if token.type == "STRING":
        return _unescape(text[1:-1])
    if re.fullmatch(r"[+-]?\d+", text) and len(text.lstrip("+-").lstrip("0")) <= _MAX_INT_DIGITS:
        return int(text)
    number = float(text)
    if not math.isfinite(number):
        raise _syntax_error(
            "filter", token.start_pos or 0, f"number {text} is out of range", ["a finite number"]
        )
    return number


def _unescape(body: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m[1], m[0]), body)


def _value_kind(field: Field) -> Literal["text", "number", "status"]:
    if field.kind == "metric":
        return "number"
    if field.kind == "attribute":
        return ATTRIBUTES[field.key]
    return "text"


def _check_operator(field: Field, op: str, token: Token) -> None:
    """Reject an operator the field's type does not support, saying what would work."""
    kind = _value_kind(field)
    allowed = {"number": _NUMERIC_OPS, "text": _TEXT_OPS, "status": _STATUS_OPS}[kind]
    if op in allowed or op in _NULL_OPS:
        return
    choices = ", ".join(choice for choice in _OP_ORDER if choice in allowed)
    if kind == "number":
        reason = f"{field} is a number, so {op!r} does not apply; use {choices}"
    elif field.kind in ("param", "tag"):
        reason = (
            f"{field} is compared as a string ({field.kind}s are stored as strings), so "
            f"{op!r} does not apply; use {choices}, or log the value as a metric and compare "
            f"metrics.{field.key} {op} ..."
        )
    else:
        reason = f"{field} is a string, so {op!r} does not apply; use {choices}"
    raise InvalidArgument(f"invalid filter: {reason}", field="filter", position=token.start_pos)


def _check_value(field: Field, op: str, value: Value, token: Token) -> Value:
    """Normalise ``value`` for ``field``'s type, or explain why it does not fit."""
    kind = _value_kind(field)
    if kind == "number":
        if isinstance(value, str):
            raise InvalidArgument(
                f"invalid filter: {field} is compared as a number, but got the string "
                f"{render_value(value)}; write the number without quotes, e.g. {field} {op} 0.5",
                field="filter",
                position=token.start_pos,
            )
        return value if isinstance(value, float) or value in _INT64 else float(value)
    if kind == "status":
        status = value.upper() if isinstance(value, str) else None
        if status not in RUN_STATUSES:
            raise InvalidArgument(
                f"invalid filter: status {value!r} is not a run status; valid statuses are "
                f"{', '.join(RUN_STATUSES)}",
                field="filter",
                position=token.start_pos,
            )
        return status
    return value if isinstance(value, str) else str(value)
