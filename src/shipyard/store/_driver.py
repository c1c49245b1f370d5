"""Statements run straight on the database driver, for the hot paths of search and of
pipeline runs.

A page of 100 runs is about a thousand rows of params and metrics. Through SQLAlchemy's
``execute`` each statement costs an execution context and each row a ``Row`` object: on
SQLite that was a third of the time of loading a page (measured in bench/README.md). These
statements are fixed SQL text, so :func:`fetch_rows` runs them on a driver cursor of the
connection's own transaction and returns the driver's tuples. :func:`fetch_compiled` does the
same for a Core statement built once and kept (a search shape's), compiled once per dialect.
:func:`execute_compiled` runs a kept Core write statement (a step run's UPDATE, the lineage
INSERT: every step of every pipeline run writes both) once per row of values, for the same
reason: SQLAlchemy's execution around a statement cost several times the statement.

What SQLAlchemy would have done around the statement is kept: its ``before_cursor_execute``
and ``after_cursor_execute`` listeners still see it (tracing, a bench reading the plan), a
driver error comes back as SQLAlchemy's ``DBAPIError`` subclass for it (``OperationalError``
...), and a lost connection is invalidated and flagged, so the store's read retry and its
"database unavailable" error work as for any other statement.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import Compiled
from sqlalchemy.types import TupleType

__all__ = ["execute_compiled", "fetch_compiled", "fetch_rows"]

#: Statements kept compiled (a search shape has one or two).
_COMPILED_CACHE = 512


def fetch_rows(
    conn: Connection, sql: str, params: Sequence[Any] | Mapping[str, Any]
) -> Sequence[tuple[Any, ...]]:
    """Every row of one read statement (``sql`` in the driver's placeholder style, with
    ``params``) as the driver's tuples, in the transaction ``conn`` holds."""
    rows: Sequence[tuple[Any, ...]] = []

    def run(cursor: Any) -> None:
        nonlocal rows
        cursor.execute(sql, params)
        rows = cursor.fetchall()

    _on_cursor(conn, sql, params, False, run)
    return rows


def _on_cursor(
    conn: Connection, sql: str, params: Any, many: bool, run: Callable[[Any], None]
) -> Any:
    """Call ``run`` with a driver cursor of ``conn``'s transaction, as SQLAlchemy would
    around a statement: its cursor-execute listeners see it, a driver error comes back as
    SQLAlchemy's, a lost connection is invalidated. Returns the cursor's ``rowcount``."""
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None  # an open Connection always holds one
    cursor = dbapi_connection.cursor()
    events = conn.dispatch
    try:
        for before in events.before_cursor_execute:  # none unless someone listens
            before(conn, cursor, sql, params, None, many)
        run(cursor)
        for after in events.after_cursor_execute:
            after(conn, cursor, sql, params, None, many)
        return cursor.rowcount
    except conn.dialect.loaded_dbapi.Error as exc:
        lost = conn.dialect.is_disconnect(exc, dbapi_connection, cursor)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql,
            params,
            exc,
            conn.dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=conn.dialect,
        ) from exc
    finally:
        with contextlib.suppress(conn.dialect.loaded_dbapi.Error):
            cursor.close()


@dataclass(frozen=True)
class _Driverable:
    """A statement compiled for one dialect, and the conversions SQLAlchemy applies to its
    parameters before binding (a float to ``float`` on SQLite, ...). ``None`` compiled: a
    statement the driver cannot take as it is (an ``IN`` of a list, which SQLAlchemy expands
    at execution), run through SQLAlchemy."""

    compiled: Compiled | None
    processors: Mapping[str, Callable[[Any], Any]]


@functools.lru_cache(maxsize=_COMPILED_CACHE)
def _compile(statement: Executable, dialect: Dialect) -> _Driverable:
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    processors = _bind_processors(compiled, dialect)
    if getattr(compiled, "post_compile_params", ()) or processors is None:
        return _Driverable(None, {})
    return _Driverable(compiled, processors)


def _bind_processors(
    compiled: Compiled, dialect: Dialect
) -> dict[str, Callable[[Any], Any]] | None:
    """Each bound parameter's conversion for ``dialect``, by its name in the compiled
    statement (what SQLAlchemy applies at execution); None when a parameter needs more than
    one conversion (a tuple), which this path leaves to SQLAlchemy."""
    names: Mapping[Any, str] | None = getattr(compiled, "bind_names", None)
    if names is None:
        return None
    literal: Container[Any] = getattr(compiled, "literal_execute_params", frozenset())
    processors: dict[str, Callable[[Any], Any]] = {}
    for bindparam, name in names.items():
        if bindparam in literal:  # rendered into the SQL text, never bound
            continue
        if isinstance(bindparam.type, TupleType):
            return None
        convert = bindparam.type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            processors[name] = convert
    return processors


def fetch_compiled(
    conn: Connection, statement: Executable, values: Mapping[str, Any]
) -> Sequence[tuple[Any, ...]]:
    """Every row of a Core ``statement`` with its bound ``values``, as the driver's tuples.

    ``statement`` must be an object kept and reused (it is the key of the compiled cache);
    one that SQLAlchemy must prepare at execution goes through ``conn.execute``."""
    driverable = _compile(statement, conn.dialect)
    compiled = driverable.compiled
    if compiled is None:
        return [tuple(row) for row in conn.execute(statement, dict(values))]
    return fetch_rows(conn, compiled.string, _bound(driverable, compiled, values))


def execute_compiled(
    conn: Connection, statement: Executable, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Run a Core write ``statement`` (UPDATE, INSERT without RETURNING) once per mapping of
    bound values in ``rows``, on the driver; the number of rows it changed in all.

    ``statement`` must be an object kept and reused, as for :func:`fetch_compiled`."""
    if not rows:
        return 0
    driverable = _compile(statement, conn.dialect)
    compiled = driverable.compiled
    if compiled is None:
        return int(conn.execute(statement, [dict(row) for row in rows]).rowcount)
    sql = compiled.string
    if len(rows) == 1:
        one = _bound(driverable, compiled, rows[0])
        return int(_on_cursor(conn, sql, one, False, lambda cursor: cursor.execute(sql, one)))
    many = [_bound(driverable, compiled, row) for row in rows]
    return int(_on_cursor(conn, sql, many, True, lambda cursor: cursor.executemany(sql, many)))


def _bound(
    driverable: _Driverable, compiled: Compiled, values: Mapping[str, Any]
) -> Sequence[Any] | Mapping[str, Any]:
    """``values`` as the driver takes them for ``compiled``: converted by SQLAlchemy's bind
    processors, in placeholder order for a positional driver."""
    processors = driverable.processors
    order = getattr(compiled, "positiontup", None)
    if order is not None and all(name in values for name in order):
        # every placeholder given a value (the statements kept for writes): nothing for
        # SQLAlchemy to fill in, so its per-call parameter building is skipped
        return tuple(
            processors[name](values[name])
            if name in processors and values[name] is not None
            else values[name]
            for name in order
        )
    bound = compiled.construct_params(dict(values))
    assert bound is not None  # a statement's parameters (None only for DDL)
    for name, convert in processors.items():
        if bound.get(name) is not None:
            bound[name] = convert(bound[name])
    return bound if order is None else tuple(bound[name] for name in order)
