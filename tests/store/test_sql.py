"""The store's shared SQL helpers: entity records from rows, statements in chunks, and the
project filter of listings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from shipyard.entities import User
from shipyard.store._sql import chunks, in_projects, record


@pytest.fixture
def conn() -> Iterator[sa.Connection]:
    engine = sa.create_engine("sqlite://")
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _row(conn: sa.Connection, **columns: Any) -> Any:
    return conn.execute(sa.select(*(sa.literal(v).label(k) for k, v in columns.items()))).one()


def test_a_record_takes_like_named_columns_and_computed_fields(conn: sa.Connection) -> None:
    row = _row(conn, name="ana", created_at=5, salt="ignored")
    assert record(User, row, roles={"default": "viewer"}) == User("ana", 5, {"default": "viewer"})


def test_a_field_that_neither_the_row_nor_the_caller_supplies_is_an_error(
    conn: sa.Connection,
) -> None:
    row = _row(conn, name="ana", created_at=5)
    with pytest.raises(KeyError, match="roles"):
        record(User, row)  # not silently the default: a new field needs a column or a value


def test_a_computed_value_for_no_field_is_an_error_naming_it(conn: sa.Connection) -> None:
    row = _row(conn, name="ana", created_at=5)
    with pytest.raises(TypeError, match="rolse"):
        record(User, row, roles={}, rolse={})


def test_chunks_cover_every_item_in_order() -> None:
    assert [list(c) for c in chunks(list(range(7)), 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunks([], 3)) == []


def test_the_project_filter_keeps_only_the_projects_named(conn: sa.Connection) -> None:
    table = sa.Table(
        "things", sa.MetaData(), sa.Column("name", sa.Text), sa.Column("project", sa.Text)
    )
    table.create(conn)
    conn.execute(table.insert(), [{"name": "a", "project": "p"}, {"name": "b", "project": "q"}])
    query = sa.select(table.c.name).order_by(table.c.name)

    def names(projects: list[str] | None) -> list[str]:
        return list(conn.scalars(in_projects(query, table.c.project, projects)))

    assert names(None) == ["a", "b"]  # a caller who may read every project
    assert names(["q"]) == ["b"]
    assert names([]) == []  # may read no project: sees nothing, never everything
