"""Experiments, runs, metrics and artifacts; the project a record belongs to."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from shipyard.entities._status import Lifecycle, RunStatus, as_status


def finite_or_text(metrics: dict[str, float]) -> dict[str, Any]:
    """Metric values for JSON: NaN and infinities as the strings ``float()`` reads back."""
    return {k: (v if math.isfinite(v) else str(v)) for k, v in metrics.items()}


#: The project experiments belong to unless another one is named.
DEFAULT_PROJECT = "default"
#: The run tag holding the sha256 of the run's package set, which is also the digest of the
#: blob listing that set (one ``name==version`` a line), so a run's set can be read back.
PACKAGE_SET_TAG = "shipyard.packages.sha256"
#: Roles on a project, weakest first; each includes the ones before it.
ROLES: tuple[str, ...] = ("viewer", "editor", "maintainer", "admin")


@dataclass(frozen=True)
class Experiment:
    """A named group of runs, in a project (whose roles say who may read and write it).

    Attributes:
        id: The experiment's id.
        name: Its name, unique in its project.
        description: Free text.
        lifecycle: ``active`` or ``deleted``.
        created_at: When it was created (milliseconds since the epoch).
        updated_at: When it last changed (milliseconds since the epoch).
        tags: Its tags.
        project: The project it belongs to.
    """

    id: str
    name: str
    description: str
    lifecycle: Lifecycle
    created_at: int
    updated_at: int
    tags: dict[str, str] = field(default_factory=dict)
    project: str = DEFAULT_PROJECT

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "lifecycle", as_status(Lifecycle, self.lifecycle, field="lifecycle")
        )

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
class MetricSample:
    """A metric's history reduced for drawing: at most a requested number of its points.

    Attributes:
        key: The metric's key.
        axis: ``step`` or ``time``: the x axis the points were bucketed (and are ordered) on.
        total: How many points the history holds.
        points: The points kept, in x order; all of them when ``total`` fits.
    """

    key: str
    axis: str
    total: int
    points: list[MetricPoint]

    @property
    def sampled(self) -> bool:
        """Whether points were left out."""
        return len(self.points) < self.total


@dataclass(frozen=True)
class Run:
    """A run with its data: params, tags and the latest value of each metric.

    Attributes:
        id: The run's id.
        experiment_id: The experiment it belongs to.
        name: Its name.
        status: ``RUNNING``, ``SCHEDULED``, ``FINISHED``, ``FAILED`` or ``KILLED``.
        start_time: When it started (milliseconds since the epoch).
        end_time: When it ended, or None while it runs.
        parent_run_id: The run it is nested under, if any.
        user: Who started it.
        lifecycle: ``active`` or ``deleted``.
        params: Its parameters (values as text).
        tags: Its tags.
        metrics: The latest value of each metric.
    """

    id: str
    experiment_id: str
    name: str
    status: RunStatus
    start_time: int
    end_time: int | None
    parent_run_id: str | None
    user: str
    lifecycle: Lifecycle
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", as_status(RunStatus, self.status))
        object.__setattr__(
            self, "lifecycle", as_status(Lifecycle, self.lifecycle, field="lifecycle")
        )

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
            "metrics": finite_or_text(self.metrics),
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


def manifest_digest(files: Sequence[ArtifactInfo]) -> str:
    """A sha256 over a file tree's sorted (path, sha256, size) lines: two trees with the same
    digest hold identical files. Names a model version's content and its local cache folder."""
    lines = sorted(f"{f.path}\t{f.digest}\t{f.size}" for f in files)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
