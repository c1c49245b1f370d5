"""What every area's tables share: the one metadata (with its naming convention), the row
base class, the column lengths and the auto-increment id.

Times are integer milliseconds since the epoch (portable and cheap to compare). Each row
class is followed by its table's handle for Core queries, named after the table (``RUNS``,
``PIPELINE_RUNS``); the query modules import those, never ``__table__``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, MetaData, String, Table

from shipyard.store._declare import TableBase, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

KEY_LEN = 250
NAME_LEN = 256
ID_LEN = 32
TAG_VALUE_LEN = 8000
PATH_LEN = 1024
IDENT_LEN = 64

# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (auto-increment).
AutoId = BigInteger().with_variant(Integer(), "sqlite")


#: On SQLite, store rows keyed by (run_id, key) in primary-key order, so a lookup by run and
#: key reaches the value without a second b-tree probe (search is a PK lookup per candidate
#: run).
CLUSTERED = {"sqlite_with_rowid": False}


class Base(TableBase):
    """The base of every row class: one metadata for the whole schema (see the package's
    ``METADATA``)."""

    metadata = MetaData(naming_convention=NAMING)


def table(row: type[Base]) -> Table:
    """The Core table of a row class, typed as the Table it is (``__table__`` is typed as a
    FromClause)."""
    return Base.metadata.tables[row.__tablename__]


def project_column() -> Any:
    """The ``project`` column of a table whose records belong to a project: a row written
    without one (and every row from before projects existed) belongs to ``default``; indexed
    for the project filter of listings."""
    return mapped_column(String(IDENT_LEN), default="default", server_default="default", index=True)
