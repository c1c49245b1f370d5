"""The metadata store's tables, one module per area, declared as row classes (Core tables,
no ORM: ``store/_declare.py``).

``base`` holds what every area shares: the one metadata and its naming convention, the row
base class, the column lengths. Each area module declares its tables and their handles
(``tracking.RUNS``, ``registry.MODEL_VERSIONS``), which the query modules import from the
area that owns them.

Importing any area imports this package first, which declares every area's tables, so
:data:`METADATA` is the whole schema whichever area a caller asked for: the migrations are
compared with it, and garbage collection keeps every digest found in any of its tables.
"""

from shipyard.store._models import (
    access,
    datasets,
    deployments,
    features,
    leases,
    lineage,
    monitoring,
    pipelines,
    registry,
    tracking,
)
from shipyard.store._models.base import Base

#: Every table of every area (the schema Alembic's migrations must produce).
METADATA = Base.metadata

__all__ = [
    "METADATA",
    "access",
    "datasets",
    "deployments",
    "features",
    "leases",
    "lineage",
    "monitoring",
    "pipelines",
    "registry",
    "tracking",
]
