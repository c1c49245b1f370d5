"""LocalStore's leases, in the metadata database."""

from __future__ import annotations

from shipyard.client._leases import LeasesStore
from shipyard.client._local_base import LocalBase
from shipyard.entities import Lease
from shipyard.store import leases_db


class LocalLeases(LocalBase, LeasesStore):
    """Named leases over the metadata database."""

    def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> Lease:
        with self._write() as conn:
            return leases_db.acquire(conn, name, holder, self._now(), int(ttl_seconds * 1000))

    def release_lease(self, name: str, holder: str) -> None:
        with self._write() as conn:
            leases_db.release(conn, name, holder)
