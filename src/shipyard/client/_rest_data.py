"""RestStore's dataset calls: dataset versions through a Shipyard server.

Creating a version uploads the canonical Parquet file as a blob (streamed, hash-checked, a
no-op when the server holds it already) and then sends the version's metadata naming the
digest; the server refuses a digest it does not hold and takes the size from its own store.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shipyard.client._http import Http
from shipyard.client._local_data import check_dataset_name
from shipyard.client._rest_pipelines import json_content
from shipyard.entities import Dataset, DatasetVersion


def _name(name: str) -> str:
    return quote(check_dataset_name(name), safe="")


class RestDataMixin:
    """Datasets and dataset versions, answered by the server's ``/datasets`` endpoints."""

    http: Http

    if TYPE_CHECKING:

        def put_blob(self, local_path: Path) -> str: ...  # RestBlobsMixin

    def find_dataset_version(self, name: str, content_hash: str) -> DatasetVersion | None:
        """The version of ``name`` with exactly this content, if it was registered before."""
        path = f"/datasets/{_name(name)}/by-hash/{quote(content_hash, safe='')}"
        found = self.http.send("GET", path)["version"]
        return None if found is None else DatasetVersion.from_dict(found)

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
    ) -> DatasetVersion:
        """Upload a canonical Parquet file and make it the next version of ``name``
        (content the dataset holds already returns the existing version)."""
        path = f"/datasets/{_name(name)}/versions"
        digest = self.put_blob(local_path)
        body = {
            "digest": digest,
            "num_rows": num_rows,
            "schema": list(schema),
            "profile": profile,
            "source": source,
            "description": description,
        }
        # Idempotent: the same content is the same version, so a repeat is harmless.
        found = self.http.send("POST", path, **json_content(body))
        return DatasetVersion.from_dict(found)

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        """Version ``version`` of ``name``, or the latest when ``version`` is None."""
        which = "latest" if version is None else str(int(version))
        found = self.http.send("GET", f"/datasets/{_name(name)}/versions/{which}")
        return DatasetVersion.from_dict(found)

    def get_dataset_version_by_id(self, version_id: str) -> DatasetVersion:
        """A dataset version by its id (as lineage nodes name it)."""
        found = self.http.send("GET", f"/dataset-versions/{quote(version_id, safe='')}")
        return DatasetVersion.from_dict(found)

    def list_datasets(self) -> list[Dataset]:
        """Every dataset, by name."""
        return [Dataset(**d) for d in self.http.send("GET", "/datasets")["datasets"]]

    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        """A dataset's versions, newest first."""
        found = self.http.send("GET", f"/datasets/{_name(name)}/versions")
        return [DatasetVersion.from_dict(d) for d in found["versions"]]
