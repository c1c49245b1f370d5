"""What every area of LocalStore works with: the settings, the metadata database (opened
and migrated on first use, with read and write transactions that turn database failures
into Shipyard errors) and the blob store.

A database server that cannot be reached is waited for (``store.connect``'s back-off) before
a transaction starts. A read whose connection breaks midway is repeated once on a new
connection; a write is not (it may have been committed before the connection broke): it
raises :class:`ServiceUnavailable` and the transaction, if it did not commit, left nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DataError, OperationalError

from shipyard import _critical
from shipyard.artifacts import BlobStore
from shipyard.client._util import now_ms
from shipyard.config import Settings
from shipyard.errors import InvalidArgument
from shipyard.store import connect, get_engine, unavailable

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
        engine = self.engine
        try:  # a SIGTERM handler waits for the commit (it may write itself), not the connect
            with connect(engine) as conn, _critical.critical(), conn.begin():
                yield conn
        except OperationalError as exc:
            raise unavailable(engine, exc) from None
        except DataError as exc:
            raise _refused(exc) from None

    def _read(self, fn: Callable[[Connection], T]) -> T:
        engine = self.engine
        for again in (True, False):
            try:
                with connect(engine).execution_options(readonly=True) as conn, conn.begin():
                    return fn(conn)
            except OperationalError as exc:
                if again and exc.connection_invalidated:  # the server went away mid-read
                    continue
                raise unavailable(engine, exc) from None
            except DataError as exc:
                raise _refused(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def ping_database(self) -> None:
        """Raise :class:`ServiceUnavailable` naming the database unless it answers now
        (without the back-off: a readiness probe answers at once and asks again later)."""
        engine = self.engine
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            raise unavailable(engine, exc) from None

    def close(self) -> None:
        """Nothing to release: engines are shared per URL and closed at exit."""


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
