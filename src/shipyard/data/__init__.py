"""Versioned datasets: register data once (content-hashed Parquet with a schema and a column
profile), load any version back as pandas, Arrow or DuckDB, and compare versions.

    import shipyard

    v = shipyard.data.register("transactions", df)        # -> transactions@1
    df = shipyard.data.load("transactions@latest")
    shipyard.data.diff("transactions@1", "transactions@2")

A contract (a pandera schema) stops bad data before it is stored or used:
``shipyard.data.register("sales", df, contract=SALES)`` and ``shipyard.data.check(df, SALES)``.
"""

from shipyard.data._api import (
    CONTRACT_TAG,
    DatasetRef,
    get,
    list_datasets,
    load,
    parse_ref,
    read_file,
    ref,
    register,
    versions,
)
from shipyard.data._canonical import ROW_GROUP_ROWS, WRITE_OPTIONS, write_canonical
from shipyard.data._context import consuming, current_actors
from shipyard.data._contract import (
    ContractReport,
    ContractViolation,
    Failure,
    as_schema,
    check,
    fingerprint,
)
from shipyard.data._diff import ColumnChange, DatasetDiff, diff_versions
from shipyard.entities import Dataset, DatasetVersion


def diff(a: "str | DatasetVersion", b: "str | DatasetVersion") -> DatasetDiff:
    """What changed from version ``a`` to ``b``: schema, row count, and the columns whose
    profile moved most (largest first)."""
    return diff_versions(get(a), get(b))


__all__ = [
    "CONTRACT_TAG",
    "ROW_GROUP_ROWS",
    "WRITE_OPTIONS",
    "ColumnChange",
    "ContractReport",
    "ContractViolation",
    "Dataset",
    "DatasetDiff",
    "DatasetRef",
    "DatasetVersion",
    "Failure",
    "as_schema",
    "check",
    "consuming",
    "current_actors",
    "diff",
    "fingerprint",
    "get",
    "list_datasets",
    "load",
    "parse_ref",
    "read_file",
    "ref",
    "register",
    "versions",
    "write_canonical",
]
