"""The dataset slice of the Store protocol: dataset versions, each a canonical Parquet file
stored as a blob (its sha256 is the version's content hash), with the input checks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from shipyard import _validation as v
from shipyard.client._checking import checks
from shipyard.entities import DEFAULT_PROJECT, Dataset, DatasetVersion
from shipyard.errors import InvalidArgument

_DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
MAX_DATASET_NAME = 200


def check_dataset_name(name: Any) -> str:
    """A dataset name: letters, digits, ``_ . -`` (no ``@``, ``/`` or spaces), <= 200 chars."""
    if not isinstance(name, str) or not name:
        raise InvalidArgument(
            f"dataset name must be a non-empty string, got {name!r}", field="dataset"
        )
    if len(name) > MAX_DATASET_NAME or not _DATASET_NAME.match(name):
        raise InvalidArgument(
            f"dataset name {name[:60]!r} is not allowed: use at most {MAX_DATASET_NAME} "
            "letters, digits, '_', '.' and '-', starting with a letter or digit",
            field="dataset",
        )
    return name


@runtime_checkable
class DataStore(Protocol):
    """Datasets and their versions."""

    @checks(name=check_dataset_name)
    def find_dataset_version(self, name: str, content_hash: str) -> DatasetVersion | None:
        """The version of ``name`` with exactly this content, if it was registered before."""
        ...

    @checks(name=check_dataset_name, project=v.check_project)
    def create_dataset_version(
        self,
        name: str,
        local_path: Path,
        *,
        num_rows: int,
        schema: Sequence[dict[str, Any]],
        profile: dict[str, Any],
        source: str = "",
        description: str = "",
        project: str = DEFAULT_PROJECT,
    ) -> DatasetVersion:
        """Store a canonical Parquet file as the next version of ``name``; content the dataset
        holds already returns the existing version (nothing is copied).

        Args:
            name: The dataset.
            local_path: The canonical Parquet file to store.
            num_rows: Its number of rows.
            schema: Its columns, one ``{"name", "type", "nullable"}`` mapping each.
            profile: Its profile (per-column statistics).
            source: Where the data came from (a path or URI), for the record.
            description: Free text shown with the version.
            project: The project a new dataset is created in; an existing dataset keeps its
                own.
        """
        ...

    @checks(name=check_dataset_name)
    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        """Version ``version`` of ``name``, or the latest when ``version`` is None."""
        ...

    def get_dataset_version_by_id(self, version_id: str) -> DatasetVersion:
        """A dataset version by its id (as lineage nodes name it)."""
        ...

    def list_datasets(self, projects: Sequence[str] | None = None) -> list[Dataset]:
        """Every dataset of ``projects`` (every project when None) with its latest version
        number and version count, by name."""
        ...

    @checks(name=check_dataset_name)
    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        """A dataset's versions, newest first."""
        ...
