"""Deployments: which model version a model server serves, where, how, and since when."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from shipyard.entities._status import as_status
from shipyard.entities._tracking import DEFAULT_PROJECT

#: A running deployment with no heartbeat for this long (ms) is shown as ``stale``: its
#: server died without saying so (model servers beat every 15 s).
STALE_AFTER_MS = 60_000


class DeploymentStatus(StrEnum):
    """Whether a model server still runs (``stopped``: it shut down and said so; a running
    deployment whose heartbeats stopped is shown as stale by readers, not stored as such)."""

    RUNNING = "running"
    STOPPED = "stopped"


class RolloutMode(StrEnum):
    """How a deployment splits its traffic: one version, a canary answering a share of the
    requests, or a shadow receiving a copy of each request (only its answer is logged)."""

    SINGLE = "single"
    CANARY = "canary"
    SHADOW = "shadow"


class DeploymentEventKind(StrEnum):
    """What changed in a deployment: it started, the primary version moved (an alias swap),
    the challenger (canary or shadow) changed, or it stopped."""

    STARTED = "started"
    SWAPPED = "swapped"
    CHALLENGER = "challenger"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Deployment:
    """One running (or stopped) model server.

    ``reference`` is what it was started with (``churn@champion``, ``churn/3``), ``version``
    the version that reference resolves to now; ``challenger`` names the second alias of a
    canary or shadow rollout (``mode``) and ``challenger_version`` its version (0: none
    loaded), ``traffic_share`` the share of requests the challenger answers (a shadow answers
    none). ``address`` is where it listens. Times are epoch ms: ``started_at``, the last
    ``heartbeat_at``, ``stopped_at`` (0 while running). The project is its model's.

    Attributes:
        id: The deployment's id.
        model: The registered model's name.
        reference: The reference the server was started with (``churn@champion``).
        version: The version that reference resolves to now.
        mode: How traffic is split (single, canary or shadow).
        challenger: The challenger's alias in a canary or shadow rollout, else empty.
        challenger_version: The challenger's version (0: none loaded).
        traffic_share: The share of requests the challenger answers.
        address: Where the server listens.
        status: ``running`` or ``stopped``.
        started_at: When it started (milliseconds since the epoch).
        heartbeat_at: Its last heartbeat (milliseconds since the epoch).
        stopped_at: When it stopped (milliseconds since the epoch; 0 while running).
        project: The project it belongs to (its model's).
    """

    id: str
    model: str
    reference: str
    version: int
    mode: RolloutMode = RolloutMode.SINGLE
    challenger: str = ""
    challenger_version: int = 0
    traffic_share: float = 0.0
    address: str = ""
    status: DeploymentStatus = DeploymentStatus.RUNNING
    started_at: int = 0
    heartbeat_at: int = 0
    stopped_at: int = 0
    project: str = DEFAULT_PROJECT

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", as_status(RolloutMode, self.mode, field="mode"))
        object.__setattr__(self, "status", as_status(DeploymentStatus, self.status))

    def state(self, now: int) -> str:
        """``running``, ``stopped``, or ``stale`` (running, but no heartbeat for
        ``STALE_AFTER_MS`` before ``now``, epoch ms)."""
        if self.status is DeploymentStatus.RUNNING and now - self.heartbeat_at > STALE_AFTER_MS:
            return "stale"
        return self.status.value

    def serving(self) -> tuple[int, str, int, float]:
        """What a change is recorded for: the versions, the rollout mode and the share."""
        return (self.version, self.mode, self.challenger_version, self.traffic_share)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        return cls(**data)


@dataclass(frozen=True)
class DeploymentEvent:
    """One change of a deployment (see :class:`DeploymentEventKind`), with what it served
    after the change, at ``at`` (epoch ms).

    Attributes:
        deployment: The deployment's id.
        kind: What changed (started, swapped, challenger, stopped).
        at: When (milliseconds since the epoch).
        version: The primary version served after the change.
        mode: The rollout mode after the change.
        challenger_version: The challenger's version after the change (0: none).
        traffic_share: The challenger's share of requests after the change.
        id: The event's sequence number.
    """

    deployment: str
    kind: DeploymentEventKind
    at: int
    version: int
    mode: RolloutMode = RolloutMode.SINGLE
    challenger_version: int = 0
    traffic_share: float = 0.0
    id: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", as_status(DeploymentEventKind, self.kind, field="kind"))
        object.__setattr__(self, "mode", as_status(RolloutMode, self.mode, field="mode"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeploymentEvent:
        return cls(**data)
