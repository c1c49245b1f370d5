"""Rows read straight from the driver: the same rows SQLAlchemy would give, statements it must
expand still work, and a driver failure is the SQLAlchemy error the store's reads handle."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shipyard.config import Settings
from shipyard.store import get_engine
from shipyard.store._driver import fetch_compiled, fetch_rows
from shipyard.store._models.tracking import RUNS


def test_a_kept_statement_gives_the_rows_sqlalchemy_gives(settings: Settings) -> None:
    engine = get_engine(settings.db_url)
    plain = sa.select(sa.literal(1.5, sa.Float()).label("x"), sa.bindparam("name", type_=sa.String))
    expanding = sa.select(RUNS.c.id).where(RUNS.c.id.in_(["a", "b"]), RUNS.c.name == "n")
    with engine.connect() as conn:
        rows = fetch_compiled(conn, plain, {"name": "ana"})
        assert [tuple(r) for r in rows] == [tuple(r) for r in conn.execute(plain, {"name": "ana"})]
        assert rows == [(1.5, "ana")]
        assert list(fetch_compiled(conn, expanding, {})) == []  # IN of a list: SQLAlchemy expands


class _Shouting(sa.types.TypeDecorator[str]):
    """A column type whose values SQLAlchemy converts before binding."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else value.upper()


def test_parameters_are_converted_as_sqlalchemy_converts_them(settings: Settings) -> None:
    engine = get_engine(settings.db_url)
    converted = sa.select(sa.bindparam("name", type_=_Shouting()).label("name"))
    with engine.connect() as conn:
        rows = fetch_compiled(conn, converted, {"name": "ana"})
        assert rows == [tuple(r) for r in conn.execute(converted, {"name": "ana"})] == [("ANA",)]
        assert fetch_compiled(conn, converted, {"name": None}) == [(None,)]


def test_a_driver_failure_is_the_sqlalchemy_error(settings: Settings) -> None:
    engine = get_engine(settings.db_url)
    with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError) as caught:
        fetch_rows(conn, "SELECT no_such_column FROM runs", ())
    assert "no_such_column" in str(caught.value)
    assert not caught.value.connection_invalidated


def test_cursor_listeners_still_see_the_statement(settings: Settings) -> None:
    engine = get_engine(settings.db_url)
    seen: list[tuple[str, str]] = []

    def before(conn: object, cursor: object, statement: str, *_: object) -> None:
        seen.append(("before", statement))

    def after(conn: object, cursor: object, statement: str, *_: object) -> None:
        seen.append(("after", statement))

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        with engine.connect() as conn:
            fetch_rows(conn, "SELECT 1", ())
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    assert [(when, sql) for when, sql in seen if sql == "SELECT 1"] == [
        ("before", "SELECT 1"),
        ("after", "SELECT 1"),
    ]
