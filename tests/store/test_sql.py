"""The store's shared SQL helpers: entity records from rows, and statements in chunks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from shipyard.entities import User
from shipyard.store._sql import chunks, record


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
