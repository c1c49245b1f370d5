"""``shipyard.data``: register, look up and load dataset versions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from shipyard._validation import MAX_VERSION
from shipyard.artifacts import scratch_dir, sha256_file
from shipyard.client import Store
from shipyard.data import _context
from shipyard.data._canonical import write_canonical
from shipyard.data._contract import ContractReport
from shipyard.entities import Dataset, DatasetVersion, LineageNode
from shipyard.errors import InvalidArgument

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

LoadAs = Literal["pandas", "arrow", "duckdb"]
_LOAD_AS = ("pandas", "arrow", "duckdb")
#: The tag a contract failure leaves on the active tracking run.
CONTRACT_TAG = "shipyard.contract.failed"
_TAG_CHARS = 4000
_REF = re.compile(r"^(?P<name>[^@]+?)(?:@(?P<version>[^@]*))?$")


def _store() -> Store:
    from shipyard.tracking import get_client

    return get_client().store


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"name@3"`` -> ``("name", 3)``; ``"name@latest"`` and ``"name"`` -> ``("name", None)``."""
    match = _REF.match(ref.strip()) if isinstance(ref, str) else None
    if match is None:
        raise InvalidArgument(
            f"dataset reference {ref!r} is not of the form 'name@3' or 'name@latest'",
            field="ref",
        )
    name, version = match["name"], match["version"]
    if version is None or version == "latest":
        return name, None
    digits = version[1:] if version[:1] in ("v", "V") else version
    if not digits.isdigit() or not 1 <= int(digits) <= MAX_VERSION:
        raise InvalidArgument(
            f"dataset reference {ref!r} has version {version!r}; use a number from 1 to "
            f"{MAX_VERSION:,} (name@3) or 'latest'",
            field="ref",
        )
    return name, int(digits)


def get(ref: str | DatasetVersion) -> DatasetVersion:
    """The dataset version ``ref`` names (``"name@3"``, ``"name@latest"``), without loading it."""
    if isinstance(ref, DatasetVersion):
        return ref
    name, version = parse_ref(ref)
    return _store().get_dataset_version(name, version)


def register(
    name: str,
    source: Any,
    *,
    description: str = "",
    store: Store | None = None,
    lineage: bool = True,
    contract: Any = None,
) -> DatasetVersion:
    """Store ``source`` as a version of dataset ``name``.

    The data is written once as canonical Parquet while streaming, and the file's sha256 is
    the content hash: data the dataset already holds returns the existing version instead
    of a copy. A new version gets its schema, row count and a column profile.

    Args:
        name: The dataset's name (created with its first version).
        source: A pandas DataFrame, a PyArrow Table, or a path: a file (Parquet, CSV, TSV,
            JSON lines, Feather), a folder of files or a glob (``"raw/*.csv"``).
        description: Free text shown with the version.
        store: The store to write to; by default the configured client's.
        lineage: Record a ``produced`` lineage edge from the active tracking run or
            pipeline step, if any.
        contract: A pandera DataFrameSchema (or DataFrameModel class) the data must meet;
            nothing is stored when it does not (see :func:`shipyard.data.check`).

    Returns:
        The new version, or the existing one holding the same data.

    Raises:
        InvalidArgument: A bad name, or a source of an unknown kind or format.
        NotFound: No file, folder or glob match at the path.
        SchemaError: Data that cannot be read or stored as Parquet (duplicate or
            non-text column names, mixed types in a column).
        ContractViolation: The data broke ``contract``; the report names the column, the
            check and sample failing rows, and is tagged on the active tracking run.
    """
    from shipyard.client import check_dataset_name
    from shipyard.data._profile import profile_parquet
    from shipyard.tracking import get_client

    check_dataset_name(name)
    target = store or _store()
    with scratch_dir("shipyard-data-") as tmp:
        written = write_canonical(source, tmp / "data.parquet")
        if contract is not None:
            _check_written(written.path, contract, name)
        digest = sha256_file(written.path).digest
        version = target.find_dataset_version(name, digest)
        if version is None:
            import pyarrow.parquet as pq

            profile = profile_parquet(written.path, pq.read_schema(written.path))
            version = target.create_dataset_version(
                name,
                written.path,
                num_rows=written.num_rows,
                schema=written.schema,
                profile=profile,
                source=written.source,
                description=description,
                project=get_client().settings.project,
            )
    if lineage:
        _context.record(target, version.id, "produced")
    return version


def _check_written(path: Path, contract: Any, name: str) -> None:
    """Validate the canonical file about to be stored as ``name`` against ``contract``; on
    failure, tag the report on the active tracking run (if any) and raise."""
    import pyarrow.parquet as pq

    from shipyard.data._contract import ContractViolation, check

    try:
        check(pq.read_table(path).to_pandas(), contract, subject=f"dataset {name!r}")
    except ContractViolation as exc:
        _record_violation(exc.report)
        raise


def _record_violation(report: ContractReport) -> None:
    """Tag a contract failure on the active tracking run, if there is one."""
    from shipyard.tracking import active_run

    run = active_run()
    if run is not None:
        run.set_tags({CONTRACT_TAG: report.summary()[:_TAG_CHARS]})


@overload
def load(
    ref: str | DatasetVersion,
    as_: Literal["pandas"] = ...,
    *,
    columns: list[str] | None = ...,
    store: Store | None = ...,
) -> pd.DataFrame: ...
@overload
def load(
    ref: str | DatasetVersion,
    as_: Literal["arrow"],
    *,
    columns: list[str] | None = ...,
    store: Store | None = ...,
) -> pa.Table: ...
@overload
def load(
    ref: str | DatasetVersion,
    as_: Literal["duckdb"],
    *,
    columns: list[str] | None = ...,
    store: Store | None = ...,
) -> duckdb.DuckDBPyRelation: ...
def load(
    ref: str | DatasetVersion,
    as_: LoadAs = "pandas",
    *,
    columns: list[str] | None = None,
    store: Store | None = None,
) -> Any:
    """Load a dataset version as a pandas DataFrame, a PyArrow Table or a DuckDB relation.

    ``ref`` is ``"name@3"``, ``"name@latest"`` (or just ``"name"``) or a DatasetVersion. The
    blob is checked against its hash first. Inside a tracking run or a pipeline step, a
    ``consumed`` lineage edge is recorded.
    """
    if as_ not in _LOAD_AS:
        raise InvalidArgument(f"as_ must be one of {', '.join(_LOAD_AS)}, got {as_!r}", field="as_")
    target = store or _store()
    if isinstance(ref, DatasetVersion):
        version = ref
    else:
        name, number = parse_ref(ref)
        version = target.get_dataset_version(name, number)
    if columns is not None:
        unknown = [c for c in columns if c not in version.columns]
        if unknown:
            raise InvalidArgument(
                f"{version.ref} has no column {', '.join(map(repr, unknown))}; its columns "
                f"are {', '.join(version.columns)}",
                field="columns",
            )
    path = target.fetch_blob(version.content_hash)
    _context.record(target, version.id, "consumed")
    return read_file(path, as_, columns)


def read_file(path: Path, as_: LoadAs, columns: list[str] | None = None) -> Any:
    """Read a canonical Parquet file in the requested form."""
    if as_ == "duckdb":
        import duckdb

        relation = duckdb.connect().read_parquet(str(path))
        if columns is not None:
            relation = relation.select(*[f'"{c.replace(chr(34), chr(34) * 2)}"' for c in columns])
        return relation
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=columns)
    return table if as_ == "arrow" else table.to_pandas()


def list_datasets() -> list[Dataset]:
    """Every dataset with its latest version number."""
    return _store().list_datasets()


def versions(name: str) -> list[DatasetVersion]:
    """The versions of a dataset, newest first."""
    return _store().list_dataset_versions(name)


@dataclass(frozen=True)
class DatasetRef:
    """A dataset version to hand to a pipeline step: ``shipyard.data.ref("sales@latest")``.

    The pipeline resolves it when the step is about to run (so ``@latest`` means the newest
    version at that moment), uses the version's content hash in the step's cache key, passes
    the loaded data to the step and records a ``consumed`` lineage edge.
    """

    name: str
    version: int | None = None
    as_: LoadAs = "pandas"

    @property
    def ref(self) -> str:
        return f"{self.name}@{'latest' if self.version is None else self.version}"

    def resolve(self, store: Store | None = None) -> DatasetVersion:
        """The concrete version this reference points at now."""
        return (store or _store()).get_dataset_version(self.name, self.version)


def ref(ref: str, as_: LoadAs = "pandas") -> Any:
    """A reference to a dataset version for a pipeline step's argument (see DatasetRef).

    Returns a :class:`DatasetRef`, typed as ``Any`` so it type-checks where the step takes
    the loaded data (a DataFrame), like a step's output handle does.
    """
    if as_ not in _LOAD_AS:
        raise InvalidArgument(f"as_ must be one of {', '.join(_LOAD_AS)}, got {as_!r}", field="as_")
    name, version = parse_ref(ref)
    return DatasetRef(name, version, as_)


def lineage_node(version: DatasetVersion) -> LineageNode:
    """The lineage-graph node of a dataset version."""
    return LineageNode("dataset_version", version.id)
