"""Reading rows straight from the database driver, for the hot read paths of search.

A page of 100 runs is about a thousand rows of params and metrics. Through SQLAlchemy's
``execute`` each statement costs an execution context and each row a ``Row`` object: on
SQLite that was a third of the time of loading a page (measured in bench/README.md). These
statements are fixed SQL text, so :func:`fetch_rows` runs them on a driver cursor of the
connection's own transaction and returns the driver's tuples. :func:`fetch_compiled` does the
same for a Core statement built once and kept (a search shape's), compiled once per dialect.

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

__all__ = ["fetch_compiled", "fetch_rows"]

#: Statements kept compiled (a search shape has one or two).
_COMPILED_CACHE = 512


def fetch_rows(
    conn: Connection, sql: str, params: Sequence[Any] | Mapping[str, Any]
) -> Sequence[tuple[Any, ...]]:
    """Every row of one read statement (``sql`` in the driver's placeholder style, with
    ``params``) as the driver's tuples, in the transaction ``conn`` holds."""
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None  # an open Connection always holds one
    cursor = dbapi_connection.cursor()
    events = conn.dispatch
    try:
        for before in events.before_cursor_execute:  # none unless someone listens
            before(conn, cursor, sql, params, None, False)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        for after in events.after_cursor_execute:
            after(conn, cursor, sql, params, None, False)
        return rows
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
    bound = compiled.construct_params(dict(values))
    assert bound is not None  # a statement's parameters (None only for DDL)
    for name, convert in driverable.processors.items():
        if bound.get(name) is not None:
            bound[name] = convert(bound[name])
    order = getattr(compiled, "positiontup", None)
    params: Sequence[Any] | Mapping[str, Any] = (
        bound if order is None else tuple(bound[name] for name in order)
    )
    return fetch_rows(conn, compiled.string, params)
