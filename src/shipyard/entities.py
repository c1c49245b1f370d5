"""Plain records that cross the Store protocol (embedded or over HTTP).

They are frozen dataclasses with only JSON-friendly fields, so the REST client and server can
turn them into JSON and back without a second schema.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "DEFAULT_PROJECT",
    "ROLES",
    "RUN_STATUSES",
    "TERMINAL_STATUSES",
    "ArtifactInfo",
    "AuditEntry",
    "Experiment",
    "LineageEdge",
    "LineageNode",
    "MetricPoint",
    "NewToken",
    "Run",
    "RunPage",
    "RunStatus",
    "TokenInfo",
    "User",
]

RunStatus = Literal["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]
RUN_STATUSES: tuple[str, ...] = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
TERMINAL_STATUSES: frozenset[str] = frozenset({"FINISHED", "FAILED", "KILLED"})
#: The project experiments belong to unless another one is named.
DEFAULT_PROJECT = "default"
#: Roles on a project, weakest first; each includes the ones before it.
ROLES: tuple[str, ...] = ("viewer", "editor", "maintainer", "admin")


@dataclass(frozen=True)
class Experiment:
    """A named group of runs, in a project (whose roles say who may read and write it)."""

    id: str
    name: str
    description: str
    lifecycle: str
    created_at: int
    updated_at: int
    tags: dict[str, str] = field(default_factory=dict)
    project: str = DEFAULT_PROJECT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Experiment:
        return cls(**data)


@dataclass(frozen=True)
class MetricPoint:
    """One logged metric value. ``timestamp`` is milliseconds since the epoch."""

    key: str
    value: float
    step: int
    timestamp: int

    def to_dict(self) -> dict[str, Any]:
        value: Any = self.value
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)  # JSON has no NaN/inf; "nan"/"inf" round-trip through float()
        return {"key": self.key, "value": value, "step": self.step, "timestamp": self.timestamp}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricPoint:
        return cls(data["key"], float(data["value"]), int(data["step"]), int(data["timestamp"]))


@dataclass(frozen=True)
class Run:
    """A run with its data: params, tags and the latest value of each metric."""

    id: str
    experiment_id: str
    name: str
    status: str
    start_time: int
    end_time: int | None
    parent_run_id: str | None
    user: str
    lifecycle: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def duration_ms(self) -> int | None:
        """End minus start time, or None while running."""
        return None if self.end_time is None else self.end_time - self.start_time

    def to_dict(self) -> dict[str, Any]:
        # Spelled out rather than asdict(), which deep-copies field by field: search pages
        # of thousands of runs are converted on every request to a server.
        return {
            "id": self.id,
            "experiment_id": self.experiment_id,
            "name": self.name,
            "status": self.status,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "parent_run_id": self.parent_run_id,
            "user": self.user,
            "lifecycle": self.lifecycle,
            "params": dict(self.params),
            "tags": dict(self.tags),
            "metrics": {k: (v if math.isfinite(v) else str(v)) for k, v in self.metrics.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        values = dict(data)
        values["metrics"] = {k: float(v) for k, v in data.get("metrics", {}).items()}
        return cls(**values)


@dataclass(frozen=True)
class RunPage:
    """One page of search results; pass ``next_page_token`` back for the next page."""

    runs: list[Run]
    next_page_token: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": [run.to_dict() for run in self.runs],
            "next_page_token": self.next_page_token,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunPage:
        return cls([Run.from_dict(r) for r in data["runs"]], data.get("next_page_token"))


@dataclass(frozen=True)
class ArtifactInfo:
    """A file in a run's artifact tree."""

    path: str
    digest: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtifactInfo:
        return cls(**data)


@dataclass(frozen=True, order=True)
class LineageNode:
    """A record in the lineage graph: its kind (``run``, ``dataset_version``, ...) and id."""

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class LineageEdge:
    """An arrow from an upstream node to a downstream one.

    ``relation`` is ``consumed`` (downstream read upstream) or ``produced`` (upstream made
    downstream).
    """

    src: LineageNode
    dst: LineageNode
    relation: str
    created_at: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "src": asdict(self.src),
            "dst": asdict(self.dst),
            "relation": self.relation,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LineageEdge:
        return cls(
            LineageNode(**data["src"]),
            LineageNode(**data["dst"]),
            data["relation"],
            int(data.get("created_at", 0)),
        )


@dataclass(frozen=True)
class User:
    """Someone who may call a Shipyard server, with a role per project (``*``: every project)."""

    name: str
    created_at: int
    roles: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> User:
        return cls(**data)


@dataclass(frozen=True)
class TokenInfo:
    """What is kept of an API token: never the token itself, only its id and metadata."""

    id: str
    user: str
    name: str
    created_at: int
    expires_at: int | None = None
    revoked_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenInfo:
        return cls(**data)


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``token`` is the secret, shown this once and stored nowhere."""

    token: str
    info: TokenInfo

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, "info": self.info.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NewToken:
        return cls(data["token"], TokenInfo.from_dict(data["info"]))


@dataclass(frozen=True)
class AuditEntry:
    """One write request a server handled: who, what (method, route, path), when, outcome."""

    id: int
    at: int
    user: str
    method: str
    route: str
    path: str
    status: int
    project: str | None = None
    client: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEntry:
        return cls(**data)
