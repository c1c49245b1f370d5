"""SQL helpers every query module of the store shares: fresh ids, statements in chunks, the
dialect's upsert, the project filter of listings, and entity records built from rows.

``record`` builds an entity from the row's columns of the same names and takes the others
(decoded JSON, children read by another query, renamed columns) as keywords; a field that
neither supplies is a KeyError, so a new entity field cannot silently keep its default.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Select, Table

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    Entity = TypeVar("Entity", bound=DataclassInstance)

Query = TypeVar("Query", bound=Select[Any])

#: Rows per multi-row statement and ids per IN list: well below the bound-parameter limits
#: of SQLite and PostgreSQL.
CHUNK = 500


def new_id() -> str:
    """A fresh 32-character hex id."""
    return uuid.uuid4().hex


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def upsert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT that supports ON CONFLICT (SQLite and PostgreSQL share the form)."""
    return upsert_for(conn.dialect.name, table)


def upsert_for(dialect_name: str, table: Table) -> Any:
    """``upsert`` for a dialect by name, for statements built once per dialect and cached.

    The dialect's module loads here, on the first write: importing PostgreSQL's (with
    asyncpg's) costs every process that only reads a SQLite store tens of milliseconds."""
    if dialect_name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    from sqlalchemy.dialects import postgresql

    return postgresql.insert(table)


def in_projects(query: Query, project: ColumnElement[Any], projects: Sequence[str] | None) -> Query:
    """``query`` limited to rows whose ``project`` column names one of ``projects``; None
    (a caller who may read every project) leaves it whole. The one scope filter of every
    listing, so no listing can apply it differently."""
    return query if projects is None else query.where(project.in_(list(projects)))


def record(kind: type[Entity], row: Any, **computed: Any) -> Entity:
    """The ``kind`` entity of a row: each field from ``computed`` if given there, else from
    the row's column of the same name."""
    names = _field_names(kind)
    unknown = computed.keys() - names
    if unknown:
        raise TypeError(f"{kind.__name__} has no field {', '.join(sorted(unknown))}")
    columns = row._mapping
    return kind(**{n: computed[n] if n in computed else columns[n] for n in names})


@functools.cache
def _field_names(kind: type[Any]) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(kind) if f.init)
