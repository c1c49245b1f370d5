"""The leases slice of the Store protocol: a named lease one process holds at a time (the
single active scheduler), with the input checks of each method."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from shipyard import _validation as v
from shipyard.client._checking import checks
from shipyard.client._checks import number_in
from shipyard.entities import Lease

#: The longest a lease may be taken for, in seconds (a day).
MAX_LEASE_SECONDS = 86_400.0


def check_lease_name(name: Any) -> str:
    """A lease name: 1-64 letters, digits and ``_ - . @``."""
    return v.check_identifier(name, "lease")


def check_holder(holder: Any) -> str:
    """Who holds a lease: non-empty text of at most 256 characters."""
    return v.check_name(holder, "holder")


def check_ttl(ttl_seconds: Any) -> float:
    """How long a lease is taken for: 1 second to a day."""
    return number_in(ttl_seconds, 1.0, MAX_LEASE_SECONDS, "ttl_seconds")


@runtime_checkable
class LeasesStore(Protocol):
    """Named leases."""

    @checks(name=check_lease_name, holder=check_holder, ttl_seconds=check_ttl)
    def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> Lease:
        """Take or renew the lease ``name`` for ``holder`` for ``ttl_seconds`` (the store's
        clock) when it is free, expired or already theirs. Returns the lease as it stands:
        the caller holds it when its ``holder`` is the caller's."""
        ...

    @checks(name=check_lease_name, holder=check_holder)
    def release_lease(self, name: str, holder: str) -> None:
        """Give up the lease ``name`` if ``holder`` holds it (else nothing happens)."""
        ...
