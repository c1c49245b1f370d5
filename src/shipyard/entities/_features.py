"""Feature-store definitions and materialization windows."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from shipyard.entities._tracking import DEFAULT_PROJECT

FEATURE_OBJECT_KINDS: tuple[str, ...] = ("entity", "feature_view", "on_demand_view", "service")


@dataclass(frozen=True)
class FeatureObject:
    """A feature-store definition as the registry keeps it: its kind (``entity``,
    ``feature_view``, ``on_demand_view``, ``service``), name, JSON spec and the spec's sha256
    (so ``plan`` can tell what changed without comparing specs field by field).

    Attributes:
        kind: ``entity``, ``feature_view``, ``on_demand_view`` or ``service``.
        name: Its name, unique per kind in its project.
        spec: Its definition, as JSON.
        digest: The spec's sha256.
        created_at: When it was first applied (milliseconds since the epoch).
        updated_at: When it last changed (milliseconds since the epoch).
        project: The project it belongs to.
    """

    kind: str
    name: str
    spec: dict[str, Any]
    digest: str = ""
    created_at: int = 0
    updated_at: int = 0
    project: str = DEFAULT_PROJECT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureObject:
        return cls(**data)


@dataclass(frozen=True)
class FeatureMaterialization:
    """One materialization of a feature view into the online store: the event-time window
    ``[start, end)`` in epoch milliseconds and how many entity rows were written. The largest
    ``end`` is the view's watermark, where ``materialize-incremental`` starts next."""

    view: str
    start: int
    end: int
    rows: int
    created_at: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureMaterialization:
        return cls(**data)


@dataclass(frozen=True)
class FeatureViewFreshness:
    """When a feature view was last materialized, for staleness checks and metrics.

    Attributes:
        project: The project of the view.
        view: The feature view's name.
        materialized_at: When its latest materialization was recorded, after the values
            were written (milliseconds since the epoch).
        watermark: The largest window end of its materializations (its event-time
            watermark, milliseconds since the epoch).
    """

    project: str
    view: str
    materialized_at: int
    watermark: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureViewFreshness:
        return cls(**data)
