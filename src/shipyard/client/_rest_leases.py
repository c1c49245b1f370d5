"""RestStore's leases, kept by the server."""

from __future__ import annotations

from shipyard.client._leases import LeasesStore
from shipyard.client._rest_base import RestBase
from shipyard.entities import Lease


class RestLeases(RestBase, LeasesStore):
    """Named leases, kept by the server (on its clock)."""

    def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> Lease:
        body = {"holder": holder, "ttl_seconds": ttl_seconds}
        return Lease.from_dict(self.http.send("POST", f"/leases/{name}", json=body))

    def release_lease(self, name: str, holder: str) -> None:
        self.http.send("DELETE", f"/leases/{name}", params={"holder": holder})
