"""The metadata store: SQLAlchemy models, Alembic migrations and the queries over them.

Only the client layer uses this package; the SDK reaches it through the Store protocol.
"""

from shipyard.store import _access as access_db
from shipyard.store import _artifact_index as artifact_db
from shipyard.store import _lineage as lineage_db
from shipyard.store import _search as search_db
from shipyard.store import _tracking as tracking_db
from shipyard.store._engine import HEAD_REVISION, current_revision, dispose_engines, get_engine

__all__ = [
    "HEAD_REVISION",
    "access_db",
    "artifact_db",
    "current_revision",
    "dispose_engines",
    "get_engine",
    "lineage_db",
    "search_db",
    "tracking_db",
]
