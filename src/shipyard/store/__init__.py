"""The metadata store: SQLAlchemy models, Alembic migrations and the queries over them.

Only the client layer uses this package; the SDK reaches it through the Store protocol.
"""

from shipyard.store import (
    _access as access_db,
    _aliases as aliases_db,
    _artifact_index as artifact_db,
    _datasets as datasets_db,
    _deployments as deployments_db,
    _features as features_db,
    _gates as gates,
    _history as history_db,
    _leases as leases_db,
    _lineage as lineage_db,
    _maintenance as maintenance_db,
    _monitoring as monitoring_db,
    _owners as owners_db,
    _pipelines as pipelines_db,
    _registry as registry_db,
    _search as search_db,
    _tracking as tracking_db,
)
from shipyard.store._engine import (
    CONNECT_RETRY_DELAYS,
    HEAD_REVISION,
    connect,
    current_revision,
    dispose_engines,
    get_engine,
    unavailable,
)
from shipyard.store._pipelines import RUN_FIELDS, STEP_FIELDS
from shipyard.store._tracking import RUN_COLUMNS

__all__ = [
    "CONNECT_RETRY_DELAYS",
    "HEAD_REVISION",
    "RUN_COLUMNS",
    "RUN_FIELDS",
    "STEP_FIELDS",
    "access_db",
    "aliases_db",
    "artifact_db",
    "connect",
    "current_revision",
    "datasets_db",
    "deployments_db",
    "dispose_engines",
    "features_db",
    "gates",
    "get_engine",
    "history_db",
    "leases_db",
    "lineage_db",
    "maintenance_db",
    "monitoring_db",
    "owners_db",
    "pipelines_db",
    "registry_db",
    "search_db",
    "tracking_db",
    "unavailable",
]
