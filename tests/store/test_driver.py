"""Statements run straight on the driver: the same rows SQLAlchemy would give, statements it
must expand still work, writes change what SQLAlchemy's would, and a driver failure is the
SQLAlchemy error the store's reads and writes handle."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shipyard.config import Settings
from shipyard.store import get_engine
from shipyard.store._driver import execute_compiled, fetch_compiled, fetch_rows
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


_NOTES = sa.Table(
    "driver_notes",
    sa.MetaData(),
    sa.Column("id", sa.String(8), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("done", sa.Boolean, nullable=False),
)
_ADD = sa.insert(_NOTES).values(
    id=sa.bindparam("id"), text=sa.bindparam("text"), done=sa.bindparam("done")
)
_SET = (
    sa.update(_NOTES)
    .where(_NOTES.c.id == sa.bindparam("where_id"))
    .values(text=sa.bindparam("set_text"), done=sa.bindparam("set_done"))
)


def test_a_kept_write_changes_what_sqlalchemy_would_and_counts_rows(settings: Settings) -> None:
    engine = get_engine(settings.db_url)
    _NOTES.create(engine)
    try:
        with engine.begin() as conn:
            rows = [{"id": f"n{i}", "text": f"note {i}", "done": False} for i in range(3)]
            assert execute_compiled(conn, _ADD, rows[:1]) == 1  # one row: execute
            assert execute_compiled(conn, _ADD, rows[1:]) == 2  # several: executemany
            assert execute_compiled(conn, _ADD, []) == 0
            changed = execute_compiled(
                conn,
                _SET,
                [
                    {"where_id": "n0", "set_text": "first", "set_done": True},
                    {"where_id": "n2", "set_text": "third", "set_done": True},
                    {"where_id": "missing", "set_text": "-", "set_done": True},
                ],
            )
            assert changed == 2  # the missing one changed nothing, and the count says so
            one = {"where_id": "n1", "set_text": "second", "set_done": False}
            assert execute_compiled(conn, _SET, [one]) == 1
            got = conn.execute(sa.select(_NOTES).order_by(_NOTES.c.id)).all()
        assert [tuple(r) for r in got] == [
            ("n0", "first", True),
            ("n1", "second", False),
            ("n2", "third", True),
        ]
    finally:
        _NOTES.drop(engine)


def test_a_refused_write_is_the_sqlalchemy_error_and_leaves_nothing(settings: Settings) -> None:
    engine = get_engine(settings.db_url)
    _NOTES.create(engine)
    try:
        twice = [
            {"id": "same", "text": "a", "done": False},
            {"id": "same", "text": "b", "done": True},
        ]
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            execute_compiled(conn, _ADD, twice)
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            execute_compiled(conn, _ADD, [{"id": "x", "text": None, "done": False}])
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(_NOTES)).scalar() == 0
    finally:
        _NOTES.drop(engine)
