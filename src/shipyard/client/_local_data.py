"""LocalStore operations for blobs and dataset versions (mixed into LocalStore)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from shipyard._validation import check_digest
from shipyard.artifacts import sha256_file
from shipyard.entities import Dataset, DatasetVersion
from shipyard.errors import IntegrityError, InvalidArgument, NotFound
from shipyard.store import datasets_db

if TYPE_CHECKING:
    from shipyard.artifacts import BlobStore
    from shipyard.config import Settings

T = TypeVar("T")
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


class DataStoreMixin:
    """Blobs by digest and dataset versions over the metadata database."""

    if TYPE_CHECKING:
        settings: Settings

        @property
        def blobs(self) -> BlobStore: ...
        def _write(self) -> AbstractContextManager[Connection]: ...
        def _read(self, fn: Callable[[Connection], T]) -> T: ...

    # ------------------------------------------------------------------ blobs

    def put_blob(self, local_path: Path) -> str:
        """Store a local file in the blob store; returns its sha256 digest."""
        return self.blobs.put_file(local_path).digest

    def download_blob(self, digest: str, dest: Path) -> Path:
        """Copy one blob to ``dest``, verifying its sha256 (IntegrityError on mismatch)."""
        return self.blobs.get_file(digest, Path(dest))

    def fetch_blob(self, digest: str) -> Path:
        """A local file with the blob's content, checked against its digest.

        Local stores hand out their own file (read only); remote ones a copy cached under
        ``<home>/cache/blobs``. A corrupted blob raises IntegrityError.
        """
        local = self.blobs.local_path(digest)
        if local is None:
            local = self.settings.home / "cache" / "blobs" / digest
            if not local.exists():
                return self.blobs.get_file(digest, local)  # verified while copying
        if not local.exists():
            raise NotFound(f"blob {digest} is not in the artifact store {self.blobs.uri}")
        actual = sha256_file(local).digest
        if actual != digest:
            raise IntegrityError(
                f"blob {digest} is corrupted: its content hashes to {actual}; restore it from "
                "a backup or register the data again",
                expected=digest,
                actual=actual,
            )
        return local

    # ------------------------------------------------------------------ datasets

    def find_dataset_version(self, name: str, content_hash: str) -> DatasetVersion | None:
        """The version of ``name`` with exactly this content, if it was registered before."""
        check_dataset_name(name)
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
    ) -> DatasetVersion:
        """Store a canonical Parquet file as the next version of ``name``.

        The file's sha256 is the content hash; content the dataset already holds returns the
        existing version (nothing is copied).
        """
        check_dataset_name(name)
        blob = self.blobs.put_file(local_path)
        return self._add_dataset_version(
            name, blob.digest, blob.size, num_rows, schema, profile, source, description
        )

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
    ) -> DatasetVersion:
        """Make the blob ``digest`` (a canonical Parquet file already in the blob store) the
        next version of ``name``; the server's side of ``create_dataset_version``.

        The blob must exist (NotFound naming ``digest`` otherwise); its size is the store's,
        not the caller's, and its content was checked against the digest when it was stored.
        """
        check_dataset_name(name)
        digest = check_digest(digest)
        try:
            size = self.blobs.size(digest)
        except NotFound:
            raise NotFound(
                f"blob {digest} is not in the artifact store; upload the Parquet file first "
                f"(PUT /api/v1/blobs/{digest}), then create the dataset version",
                field="digest",
            ) from None
        return self._add_dataset_version(
            name, digest, size, num_rows, schema, profile, source, description
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
    ) -> DatasetVersion:
        from shipyard.client._local import now_ms

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
                        now=now_ms(),
                    )
            except SqlIntegrityError:  # a concurrent writer took the number; try the next
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        """Version ``version`` of ``name``, or the latest when ``version`` is None."""
        check_dataset_name(name)
        return self._read(lambda c: datasets_db.get_version(c, name, version))

    def get_dataset_version_by_id(self, version_id: str) -> DatasetVersion:
        """A dataset version by its id (as lineage nodes name it)."""
        return self._read(lambda c: datasets_db.get_version_by_id(c, version_id))

    def list_datasets(self) -> list[Dataset]:
        """Every dataset, by name."""
        return self._read(datasets_db.list_datasets)

    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        """A dataset's versions, newest first."""
        check_dataset_name(name)
        return self._read(lambda c: datasets_db.list_versions(c, name))
