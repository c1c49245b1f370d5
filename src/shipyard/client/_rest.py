"""RestStore: the Store protocol over HTTP to a Shipyard server.

With ``SHIPYARD_TRACKING_URI=http(s)://host:port`` every SDK call and CLI command comes here
instead of to a LocalStore, and behaves the same: the same entities back, the same exceptions
on error (the server sends ``ShipyardError.to_dict()``, rebuilt here). CheckedStore runs the
protocol's input checks here first, the ones the server's LocalStore runs, so a bad value
fails before a round trip with the same message. One translation per area
(``_rest_<area>.py``) turns each call into requests.
"""

from __future__ import annotations

from shipyard.client._protocol import CheckedStore
from shipyard.client._rest_access import RestAccess
from shipyard.client._rest_blobs import RestBlobs
from shipyard.client._rest_data import RestData
from shipyard.client._rest_deployments import RestDeployments
from shipyard.client._rest_features import RestFeatures
from shipyard.client._rest_leases import RestLeases
from shipyard.client._rest_lineage import RestLineage
from shipyard.client._rest_monitoring import RestMonitoring
from shipyard.client._rest_pipelines import RestPipelines
from shipyard.client._rest_registry import RestRegistry
from shipyard.client._rest_tracking import RestTracking


class RestStore(
    RestTracking,
    RestLineage,
    RestRegistry,
    RestData,
    RestBlobs,
    RestPipelines,
    RestAccess,
    RestFeatures,
    RestMonitoring,
    RestDeployments,
    RestLeases,
    CheckedStore,
):
    """The Store protocol, answered by a Shipyard server."""
