"""Row classes declare the store's Core tables with the ORM's syntax but without the ORM:
the same columns, nullability, keys and options, and nothing of ``sqlalchemy.orm`` loaded."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import BigInteger, ForeignKey, Index, MetaData, String, Text
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable

from shipyard.store._declare import Mapped, TableBase, mapped_column


def _base() -> type[TableBase]:
    class Base(TableBase):
        metadata = MetaData()

    return Base


def test_a_row_class_becomes_a_core_table_with_the_orm_s_nullability() -> None:
    Base = _base()

    class Parent(Base):
        __tablename__ = "parents"
        id: Mapped[str] = mapped_column(String(32), primary_key=True)

    class Child(Base):
        __tablename__ = "children"
        id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
        parent: Mapped[str] = mapped_column(ForeignKey("parents.id", ondelete="CASCADE"))
        note: Mapped[str | None] = mapped_column(Text)
        size: Mapped[int] = mapped_column(BigInteger, default=0)
        forced: Mapped[str] = mapped_column(String(8), nullable=True)

        __table_args__ = (Index(None, "parent", "size"), {"sqlite_with_rowid": False})

    table = Base.metadata.tables["children"]
    assert [c.name for c in table.columns] == ["id", "parent", "note", "size", "forced"]
    nullable = {c.name: c.nullable for c in table.columns}
    assert nullable == {"id": False, "parent": False, "note": True, "size": False, "forced": True}
    assert table.c.size.default is not None and table.c.size.default.arg == 0
    assert isinstance(table.c.parent.type, String) and table.c.parent.type.length == 32
    assert [fk.ondelete for fk in table.c.parent.foreign_keys] == ["CASCADE"]
    assert [[c.name for c in i.columns] for i in table.indexes] == [["parent", "size"]]
    assert "WITHOUT ROWID" in str(CreateTable(table).compile(dialect=sqlite.dialect()))
    assert Parent.__tablename__ == "parents" and Child.__tablename__ == "children"


def test_table_options_alone_are_accepted() -> None:
    Base = _base()

    class Row(Base):
        __tablename__ = "rows"
        key: Mapped[str] = mapped_column(String(8), primary_key=True)
        __table_args__ = {"sqlite_with_rowid": False}

    assert Base.metadata.tables["rows"].dialect_options["sqlite"]["with_rowid"] is False
    assert Row.__tablename__ == "rows"


def test_a_column_without_a_type_is_refused_by_name() -> None:
    Base = _base()
    with pytest.raises(TypeError, match="column 'size' needs a type"):

        class Row(Base):
            __tablename__ = "rows"
            size: Mapped[int] = mapped_column(default=0)


def test_a_column_whose_annotation_is_not_mapped_is_refused() -> None:
    Base = _base()
    with pytest.raises(TypeError, match=r"Mapped\[\.\.\.\], not 'int'"):

        class Row(Base):
            __tablename__ = "rows"
            size: int = mapped_column(BigInteger)


def test_the_store_s_tables_load_without_the_orm() -> None:
    probe = (
        "import sys, shipyard.store\n"
        "print(sorted(m for m in sys.modules if m.startswith("
        "('sqlalchemy.orm', 'sqlalchemy.dialects.postgresql'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "[]"
