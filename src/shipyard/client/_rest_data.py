"""RestStore's datasets: dataset versions through a Shipyard server.

Creating a version uploads the canonical Parquet file as a blob (streamed, hash-checked, a
no-op when the server holds it already) and then sends the version's metadata naming the
digest; the server refuses a digest it does not hold and takes the size from its own store.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from shipyard.client._data import DataStore
from shipyard.client._http import json_content
from shipyard.client._rest_blobs import RestBlobs
from shipyard.entities import DEFAULT_PROJECT, Dataset, DatasetVersion


def _dataset(name: str) -> str:
    """The URL of a dataset (its name is checked: it never becomes another path)."""
    return f"/datasets/{quote(name, safe='')}"


class RestData(RestBlobs, DataStore):
    """Datasets and dataset versions, answered by the server's ``/datasets`` endpoints
    (their files uploaded as blobs)."""

    def find_dataset_version(self, name: str, content_hash: str) -> DatasetVersion | None:
        path = f"{_dataset(name)}/by-hash/{quote(content_hash, safe='')}"
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
        project: str = DEFAULT_PROJECT,
    ) -> DatasetVersion:
        digest = self.put_blob(local_path)
        body = {
            "digest": digest,
            "num_rows": num_rows,
            "schema": list(schema),
            "profile": profile,
            "source": source,
            "description": description,
            "project": project,
        }
        # Idempotent: the same content is the same version, so a repeat is harmless.
        found = self.http.send("POST", f"{_dataset(name)}/versions", **json_content(body))
        return DatasetVersion.from_dict(found)

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        which = "latest" if version is None else str(int(version))
        found = self.http.send("GET", f"{_dataset(name)}/versions/{which}")
        return DatasetVersion.from_dict(found)

    def get_dataset_version_by_id(self, version_id: str) -> DatasetVersion:
        found = self.http.send("GET", f"/dataset-versions/{quote(version_id, safe='')}")
        return DatasetVersion.from_dict(found)

    def list_datasets(self, projects: Sequence[str] | None = None) -> list[Dataset]:
        params = None if projects is None else {"project": list(projects)}
        found = self.http.send("GET", "/datasets", params=params)
        return [Dataset(**d) for d in found["datasets"]]

    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        found = self.http.send("GET", f"{_dataset(name)}/versions")
        return [DatasetVersion.from_dict(d) for d in found["versions"]]
