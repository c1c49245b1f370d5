"""LocalStore's datasets: dataset versions in the metadata database, their Parquet files in
the blob store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from shipyard._validation import check_digest, check_project
from shipyard.client._checking import checks
from shipyard.client._data import DataStore, check_dataset_name
from shipyard.client._local_base import LocalBase
from shipyard.entities import DEFAULT_PROJECT, Dataset, DatasetVersion
from shipyard.errors import NotFound
from shipyard.store import datasets_db


class LocalData(LocalBase, DataStore):
    """Dataset versions over the metadata database and the blob store."""

    def find_dataset_version(self, name: str, content_hash: str) -> DatasetVersion | None:
        return self._read(lambda c: datasets_db.find_version(c, name, content_hash))

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
        blob = self.blobs.put_file(local_path)
        return self._add_dataset_version(
            name, blob.digest, blob.size, num_rows, schema, profile, source, description, project
        )

    @checks(name=check_dataset_name, digest=check_digest, project=check_project)
    def create_dataset_version_from_blob(
        self,
        name: str,
        digest: str,
        *,
        num_rows: int,
        schema: Sequence[dict[str, Any]],
        profile: dict[str, Any],
        source: str = "",
        description: str = "",
        project: str = DEFAULT_PROJECT,
    ) -> DatasetVersion:
        """Make the blob ``digest`` (a canonical Parquet file already in the blob store) the
        next version of ``name``; the server's side of ``create_dataset_version``.

        The blob must exist (NotFound naming ``digest`` otherwise); its size is the store's,
        not the caller's, and its content was checked against the digest when it was stored.

        Args:
            name: The dataset.
            digest: The sha256 of the stored Parquet blob.
            num_rows: Its number of rows.
            schema: Its columns, as ``create_dataset_version`` takes them.
            profile: Its profile (per-column statistics).
            source: Where the data came from, for the record.
            description: Free text shown with the version.
            project: The project a new dataset is created in; an existing dataset keeps its
                own.
        """
        try:
            size = self.blobs.size(digest)
        except NotFound:
            raise NotFound(
                f"blob {digest} is not in the artifact store; upload the Parquet file first "
                f"(PUT /api/v1/blobs/{digest}), then create the dataset version",
                field="digest",
            ) from None
        return self._add_dataset_version(
            name, digest, size, num_rows, schema, profile, source, description, project
        )

    def _add_dataset_version(
        self,
        name: str,
        digest: str,
        size: int,
        num_rows: int,
        schema: Sequence[dict[str, Any]],
        profile: dict[str, Any],
        source: str,
        description: str,
        project: str,
    ) -> DatasetVersion:
        for attempt in range(5):
            try:
                with self._write() as conn:
                    return datasets_db.create_version(
                        conn,
                        name,
                        digest=digest,
                        size=size,
                        num_rows=num_rows,
                        schema=schema,
                        profile=profile,
                        source=source,
                        description=description,
                        now=self._now(),
                        project=project,
                    )
            except SqlIntegrityError:  # a concurrent writer took the number; try the next
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        return self._read(lambda c: datasets_db.get_version(c, name, version))

    def get_dataset_version_by_id(self, version_id: str) -> DatasetVersion:
        return self._read(lambda c: datasets_db.get_version_by_id(c, version_id))

    def list_datasets(self, projects: Sequence[str] | None = None) -> list[Dataset]:
        return self._read(lambda c: datasets_db.list_datasets(c, projects))

    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        return self._read(lambda c: datasets_db.list_versions(c, name))
