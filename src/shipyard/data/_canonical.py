"""The canonical Parquet form of a dataset, written from any source as a stream.

The content hash of a dataset version is the sha256 of this file, so its bytes must depend
only on the data and its schema, never on how the input happened to be chunked or where it
came from:

* the schema loses all metadata (pandas' index and version notes, field metadata);
* rows are regrouped into row groups of exactly :data:`ROW_GROUP_ROWS` rows (the last one
  shorter), and each row group is written from contiguous arrays, so page boundaries do not
  follow the input's batch boundaries;
* the writer settings are pinned (:data:`WRITE_OPTIONS`).

Identical data therefore gives identical bytes with the same PyArrow Parquet encoder. Input
files are read batch by batch through ``pyarrow.dataset`` and at most about two row groups
are held in memory, so a file larger than memory is converted and hashed without being
loaded whole.
"""

from __future__ import annotations

import glob as globlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import InvalidArgument, NotFound, SchemaError

if TYPE_CHECKING:
    import pyarrow as pa

ROW_GROUP_ROWS = 131_072
WRITE_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "version": "2.6",
    "data_page_version": "1.0",
    "use_dictionary": True,
    "write_statistics": True,
}
_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".feather": "ipc",
    ".arrow": "ipc",
    ".ipc": "ipc",
}


@dataclass(frozen=True)
class Written:
    """What :func:`write_canonical` produced."""

    path: Path
    num_rows: int
    schema: list[dict[str, Any]]
    source: str


def _check_columns(names: list[str], description: str) -> None:
    """A dataset needs at least one column, each named once (Parquet and every reader of
    it refuse anything else, in their own words)."""
    if not names:
        raise SchemaError(
            f"{description} has no columns; a dataset needs at least one column (an empty "
            "table with named columns is fine)",
            field="source",
        )
    if len(set(names)) != len(names):
        duplicated = sorted({n for n in names if names.count(n) > 1})
        raise SchemaError(
            f"column names of {description} must be unique; duplicated: {', '.join(duplicated)}",
            field="source",
        )


def _clean_schema(schema: pa.Schema, description: str) -> pa.Schema:
    import pyarrow as pa

    _check_columns(schema.names, description)
    return pa.schema([pa.field(f.name, f.type, f.nullable) for f in schema])


def _format_of(path: str) -> str:
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    fmt = _FORMATS.get(os.path.splitext(name)[1])
    if fmt is None:
        raise InvalidArgument(
            f"cannot tell the format of {path!r}; use a .parquet, .csv, .tsv, .json(l) or "
            ".feather file, or pass a DataFrame",
            field="source",
        )
    return fmt


def _paths_of(source: str) -> list[str]:
    if any(ch in source for ch in "*?["):
        paths = sorted(p for p in globlib.glob(source, recursive=True) if os.path.isfile(p))
        if not paths:
            raise NotFound(f"no files match {source!r}", field="source")
        return paths
    if os.path.isdir(source):
        paths = sorted(
            os.path.join(root, name)
            for root, _dirs, names in os.walk(source)
            for name in names
            if not name.startswith((".", "_"))
        )
        if not paths:
            raise NotFound(f"folder {source!r} holds no data files", field="source")
        return paths
    if not os.path.isfile(source):
        raise NotFound(f"no such file or folder: {source}", field="source")
    return [source]


def _file_batches(source: str) -> tuple[pa.Schema, Iterable[pa.RecordBatch]]:
    import pyarrow.dataset as ds

    paths = _paths_of(source)
    formats = {_format_of(p) for p in paths}
    if len(formats) > 1:
        raise InvalidArgument(
            f"{source!r} mixes file formats ({', '.join(sorted(formats))}); register one "
            "format at a time",
            field="source",
        )
    fmt: Any = formats.pop()
    if fmt == "tsv":
        fmt = ds.CsvFileFormat(parse_options=ds.csv.ParseOptions(delimiter="\t"))
    try:
        dataset = ds.dataset(paths, format=fmt)
        return dataset.schema, dataset.to_batches(batch_size=ROW_GROUP_ROWS)
    except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid is a ValueError
        raise SchemaError(f"cannot read {source!r}: {exc}", field="source") from None


def source_batches(source: Any) -> tuple[pa.Schema, Iterable[pa.RecordBatch], str]:
    """The schema, a stream of record batches and a description of ``source``.

    Accepts a pandas DataFrame, a PyArrow Table, RecordBatch or RecordBatchReader, or a path:
    a file, a folder of files, or a glob such as ``"raw/2026-*.csv"`` (files in sorted order).
    """
    import pyarrow as pa

    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        schema, batches = _file_batches(path)
        return schema, batches, path
    module = type(source).__module__
    if module.startswith("pandas") and type(source).__name__ == "DataFrame":
        columns = list(source.columns)
        if not all(isinstance(c, str) for c in columns):
            raise SchemaError(
                "DataFrame column names must be strings; rename them first, e.g. "
                "df.columns = df.columns.map(str)",
                field="source",
            )
        _check_columns(columns, "the DataFrame")
        try:
            table = pa.Table.from_pandas(source, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise SchemaError(
                f"the DataFrame cannot be stored as Parquet: {exc}; give each column one type",
                field="source",
            ) from None
        return table.schema, table.to_batches(), "pandas.DataFrame"
    if isinstance(source, pa.Table):
        return source.schema, source.to_batches(), "pyarrow.Table"
    if isinstance(source, pa.RecordBatch):
        return source.schema, [source], "pyarrow.RecordBatch"
    if isinstance(source, pa.RecordBatchReader):
        return source.schema, source, "pyarrow.RecordBatchReader"
    raise InvalidArgument(
        f"cannot register a {type(source).__name__}; pass a pandas DataFrame, a PyArrow "
        "Table, or a path or glob of Parquet/CSV/JSON files",
        field="source",
    )


def _row_groups(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.Table]:
    """Regroup a batch stream into contiguous tables of exactly ROW_GROUP_ROWS rows."""
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if batch.schema != schema:
            try:
                batch = pa.RecordBatch.from_arrays(batch.columns, schema=schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise SchemaError(
                    f"the input's parts do not share one schema: {exc}", field="source"
                ) from None
        pending.append(batch)
        count += batch.num_rows
        while count >= ROW_GROUP_ROWS:
            table = pa.Table.from_batches(pending, schema)
            yield table.slice(0, ROW_GROUP_ROWS).combine_chunks()
            rest = table.slice(ROW_GROUP_ROWS)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending, schema).combine_chunks()


def schema_list(schema: pa.Schema) -> list[dict[str, Any]]:
    """A schema as ``[{"name", "type", "nullable"}]``."""
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]


def write_canonical(source: Any, target: Path) -> Written:
    """Write ``source`` to ``target`` in canonical Parquet form (streaming)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    raw_schema, batches, description = source_batches(source)
    schema = _clean_schema(raw_schema, description)
    rows = 0
    try:
        with pq.ParquetWriter(str(target), schema, **WRITE_OPTIONS) as writer:
            for table in _row_groups(batches, schema):
                writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
                rows += table.num_rows
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise SchemaError(f"cannot store {description} as Parquet: {exc}", field="source") from None
    return Written(target, rows, schema_list(schema), description)
