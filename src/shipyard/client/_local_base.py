"""What every area of LocalStore works with: the settings, the metadata database (opened
and migrated on first use, with read and write transactions that turn database failures
into Shipyard errors) and the blob store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DataError, OperationalError

from shipyard import _critical
from shipyard.artifacts import BlobStore
from shipyard.client._util import now_ms
from shipyard.config import Settings
from shipyard.errors import InvalidArgument, ServiceUnavailable
from shipyard.store import get_engine

T = TypeVar("T")


class LocalBase:
    """The database engine and blob store of one LocalStore, and transactions over them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._blobs: BlobStore | None = None

    @staticmethod
    def _now() -> int:
        return now_ms()

    @property
    def engine(self) -> Engine:
        """The database engine, created (and migrated) on first use."""
        if self._engine is None:
            self._engine = get_engine(
                self.settings.db_url, busy_timeout_ms=self.settings.sqlite_busy_timeout_ms
            )
        return self._engine

    @property
    def blobs(self) -> BlobStore:
        """The content-addressed blob store, opened on first use."""
        if self._blobs is None:
            self._blobs = BlobStore(
                self.settings.artifacts_uri, storage_options=storage_options(self.settings)
            )
        return self._blobs

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:  # a SIGTERM handler waits for the commit (it may write itself)
            with _critical.critical(), self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise _unavailable(exc) from None
        except DataError as exc:
            raise _refused(exc) from None

    def _read(self, fn: Callable[[Connection], T]) -> T:
        try:
            with self.engine.connect().execution_options(readonly=True) as conn, conn.begin():
                return fn(conn)
        except OperationalError as exc:
            raise _unavailable(exc) from None
        except DataError as exc:
            raise _refused(exc) from None

    def close(self) -> None:
        """Nothing to release: engines are shared per URL and closed at exit."""


def _unavailable(exc: OperationalError) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"metadata database error: {exc.orig}; check SHIPYARD_DB_URL and the server"
    )


def _refused(exc: DataError) -> InvalidArgument:
    """A value the database refused (too long for its column, out of range): the caller's
    input, so a 422 naming the reason rather than a server error."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return InvalidArgument(f"the database refused a value: {reason}; check the input")


def storage_options(settings: Settings) -> dict[str, Any]:
    """fsspec options for the artifact store (an S3 endpoint for MinIO-style servers)."""
    if settings.artifacts_uri.startswith("s3://") and settings.s3_endpoint_url:
        return {"client_kwargs": {"endpoint_url": settings.s3_endpoint_url}}
    return {}
