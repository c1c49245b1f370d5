"""LocalStore: the Store protocol over a SQL database and a blob store, in-process.

One translation per area (``_local_<area>.py``) turns each call into queries of
``shipyard.store`` and blob-store operations; CheckedStore runs the protocol's input checks
before any of them.
"""

from __future__ import annotations

from shipyard.client._local_access import LocalAccess
from shipyard.client._local_blobs import LocalBlobs
from shipyard.client._local_data import LocalData
from shipyard.client._local_deployments import LocalDeployments
from shipyard.client._local_features import LocalFeatures
from shipyard.client._local_leases import LocalLeases
from shipyard.client._local_lineage import LocalLineage
from shipyard.client._local_monitoring import LocalMonitoring
from shipyard.client._local_pipelines import LocalPipelines
from shipyard.client._local_registry import LocalRegistry
from shipyard.client._local_tracking import LocalTracking
from shipyard.client._protocol import CheckedStore


class LocalStore(
    LocalTracking,
    LocalLineage,
    LocalBlobs,
    LocalRegistry,
    LocalData,
    LocalPipelines,
    LocalAccess,
    LocalFeatures,
    LocalMonitoring,
    LocalDeployments,
    LocalLeases,
    CheckedStore,
):
    """Direct access to the metadata database and the blob store.

    Used embedded (the default) and by the Shipyard server as its backend. Whoever can open
    the database may do anything: roles are enforced by the server, not here.
    """
