"""MLflow's run-search filter and ``order_by`` strings, translated into Shipyard's.

MLflow's grammar is a conjunction of comparisons::

    metrics.rmse < 1 and params.model = 'tree' and tags."my tag" LIKE 'a%'
    attributes.status IN ('FINISHED', 'FAILED') and attributes.run_name != 'x'

Keys are bare (``metrics.val.auc``), backtick-quoted or double-quoted; prefixes are
``metrics``/``metric``, ``params``/``param``, ``tags``/``tag``, ``attributes``/``attribute``/
``attr``/``run`` (and a bare attribute name). Values are numbers or quoted strings, lists in
parentheses for ``IN``. Each clause is rewritten with Shipyard's spelling (``user_id`` is
``user``, ``created``/``Created`` is ``start_time``), so Shipyard's own parser then checks the
meaning (types, statuses) exactly as for its own callers.

MLflow clauses with no Shipyard counterpart (``datasets.*``, ``attributes.artifact_uri``,
``attributes.lifecycle_stage``, ``OR``) raise :class:`UnsupportedFilter` naming the clause,
which the MLflow API answers as a 400 ``INVALID_PARAMETER_VALUE``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shipyard.errors import InvalidArgument

__all__ = ["RUN_ATTRIBUTES", "UnsupportedFilter", "translate_filter", "translate_order_by"]

_PREFIXES = {
    "metrics": "metrics", "metric": "metrics",
    "params": "params", "param": "params",
    "tags": "tags", "tag": "tags",
    "attributes": "attributes", "attribute": "attributes",
    "attr": "attributes", "run": "attributes",
}  # fmt: skip
#: MLflow run attributes and their Shipyard names.
RUN_ATTRIBUTES = {
    "run_id": "run_id",
    "run_name": "name",
    "status": "status",
    "start_time": "start_time",
    "end_time": "end_time",
    "user_id": "user",
    "created": "start_time",
    "parent_run_id": "parent_run_id",
}
_UNSUPPORTED_ATTRIBUTES = {"artifact_uri", "lifecycle_stage"}
_OPS = ("<=", ">=", "!=", "<>", "==", "=", "<", ">")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
      | (?P<backtick>`[^`]*`)
      | (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))(?![\w.])
      | (?P<op><=|>=|!=|<>|==|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][\w\-:]*)
      | (?P<dot>\.)
    )""",
    re.VERBOSE,
)


class UnsupportedFilter(InvalidArgument):
    """A filter or order_by clause MLflow accepts but Shipyard cannot answer."""


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokens(text: str, what: str) -> list[_Tok]:
    found: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise InvalidArgument(
                f"{what}: unexpected character {text[pos:].lstrip()[:1]!r} at position {pos}",
                field=what,
            )
        kind = match.lastgroup or ""
        found.append(_Tok(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return found


class _Reader:
    def __init__(self, text: str, what: str, attributes: Mapping[str, str]) -> None:
        self.toks = _tokens(text, what)
        self.i = 0
        self.what = what
        self.attributes = attributes

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise InvalidArgument(f"{self.what}: the clause ends too early", field=self.what)
        self.i += 1
        return tok

    def word(self, *words: str) -> bool:
        """Consume the next token when it is one of ``words`` (case-insensitive)."""
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.text.lower() in words:
            self.i += 1
            return True
        return False

    def fail(self, expected: str) -> InvalidArgument:
        tok = self.peek()
        where = f"{tok.text!r} at position {tok.pos}" if tok else "the end"
        return InvalidArgument(f"{self.what}: expected {expected}, found {where}", field=self.what)


def _unquote(tok: _Tok) -> str:
    body = tok.text[1:-1]
    if tok.kind == "string" and tok.text[0] == "'":
        body = body.replace("''", "'")
    return re.sub(r"\\(.)", r"\1", body) if tok.kind == "string" else body


def _key_text(reader: _Reader) -> str:
    """A key after ``prefix.``: quoted, or dotted words (``val.auc``)."""
    tok = reader.take()
    if tok.kind in ("backtick", "string"):
        return _unquote(tok)
    if tok.kind not in ("word", "number"):
        raise reader.fail("a key")
    parts = [tok.text]
    while (nxt := reader.peek()) is not None and nxt.kind == "dot":
        reader.take()
        part = reader.take()
        if part.kind not in ("word", "number"):
            raise reader.fail("a key part")
        parts.append(part.text)
    return ".".join(parts)


def _field(reader: _Reader) -> str:
    """One field in Shipyard's spelling: ``metrics.`key``` or an attribute name."""
    first = reader.take()
    if first.kind in ("backtick", "string"):  # a quoted bare attribute
        return _attribute(_unquote(first), reader)
    if first.kind != "word":
        raise reader.fail("a field such as metrics.rmse")
    head = first.text.lower()
    nxt = reader.peek()
    if nxt is None or nxt.kind != "dot":
        return _attribute(first.text, reader)
    reader.take()
    if head == "datasets":
        raise UnsupportedFilter(
            f"{reader.what}: dataset clauses (datasets.*) are not supported by Shipyard's "
            "MLflow API; filter on tags instead",
            field=reader.what,
        )
    prefix = _PREFIXES.get(head)
    if prefix is None:
        raise InvalidArgument(
            f"{reader.what}: unknown prefix {first.text!r}; use metrics., params., tags. or "
            "attributes.",
            field=reader.what,
        )
    key = _key_text(reader)
    if prefix == "attributes":
        return _attribute(key, reader)
    return f"{prefix}.`{key}`"


def _attribute(name: str, reader: _Reader) -> str:
    what = reader.what
    lowered = name.lower()
    if lowered in _UNSUPPORTED_ATTRIBUTES:
        raise UnsupportedFilter(
            f"{what}: the attribute {name!r} is not supported by Shipyard's MLflow API",
            field=what,
        )
    shipyard = reader.attributes.get(lowered)
    if shipyard is None:
        known = ", ".join(sorted(reader.attributes))
        raise InvalidArgument(f"{what}: unknown attribute {name!r}; known: {known}", field=what)
    return shipyard


def _value(reader: _Reader) -> str:
    tok = reader.take()
    if tok.kind == "number":
        return tok.text
    if tok.kind in ("string", "backtick"):
        text = _unquote(tok).replace("\\", "\\\\").replace("'", "\\'")
        return f"'{text}'"
    raise reader.fail("a number or a quoted string")


def _comparison(reader: _Reader) -> str:
    field = _field(reader)
    if reader.word("is"):
        negated = reader.word("not")
        if not reader.word("null"):
            raise reader.fail("NULL")
        return f"{field} is {'not ' if negated else ''}null"
    negated = reader.word("not")
    if reader.word("in"):
        if reader.take().text != "(":
            raise reader.fail("'('")
        values = [_value(reader)]
        while (tok := reader.take()).text == ",":
            values.append(_value(reader))
        if tok.text != ")":
            raise reader.fail("',' or ')'")
        return f"{field} {'not in' if negated else 'in'} ({', '.join(values)})"
    for keyword in ("like", "ilike"):
        if reader.word(keyword):
            return f"{field} {'not ' if negated else ''}{keyword} {_value(reader)}"
    if negated:
        raise reader.fail("IN, LIKE or ILIKE after NOT")
    op = reader.take()
    if op.kind != "op":
        raise reader.fail("a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN)")
    return f"{field} {'=' if op.text == '==' else op.text} {_value(reader)}"


def translate_filter(
    mlflow_filter: str | None, attributes: Mapping[str, str] = RUN_ATTRIBUTES
) -> str | None:
    """Shipyard's filter for an MLflow ``filter_string`` (None or blank: no filter), with
    ``attributes`` mapping MLflow's attribute names to Shipyard's run attributes.

    Raises:
        UnsupportedFilter: a clause MLflow knows but Shipyard cannot answer (OR, datasets).
        InvalidArgument: a filter MLflow itself would refuse too.
    """
    if mlflow_filter is None or not mlflow_filter.strip():
        return None
    reader = _Reader(mlflow_filter, "filter", attributes)
    clauses = [_comparison(reader)]
    while reader.peek() is not None:
        if reader.word("or"):
            raise UnsupportedFilter(
                "filter: OR is not part of MLflow's search grammar; run one search per "
                "alternative, or use IN (...)",
                field="filter",
            )
        if not reader.word("and"):
            raise reader.fail("AND")
        clauses.append(_comparison(reader))
    return " and ".join(clauses)


def translate_order_by(order_by: Sequence[str] | None) -> list[str]:
    """Shipyard's ``order_by`` for MLflow's (``metrics.rmse DESC``, ``start_time``, ...);
    MLflow's default order, newest first, when there is none."""
    translated = []
    for item in order_by or ():
        reader = _Reader(item, "order_by", RUN_ATTRIBUTES)
        field = _field(reader)
        direction = ""
        if reader.word("desc"):
            direction = " desc"
        else:
            reader.word("asc")
        if reader.peek() is not None:
            raise reader.fail("ASC, DESC or the end of the clause")
        translated.append(field + direction)
    if not any(entry.split()[0] == "start_time" for entry in translated):
        translated.append("start_time desc")
    return translated
