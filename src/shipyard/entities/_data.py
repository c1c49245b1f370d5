"""Dataset versions, pipelines, their runs and step runs, and schedules."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shipyard.entities._status import PipelineRunStatus, StepStatus, as_status
from shipyard.entities._tracking import DEFAULT_PROJECT


@dataclass(frozen=True)
class Dataset:
    """A named, versioned dataset."""

    name: str
    description: str
    created_at: int
    updated_at: int
    latest_version: int = 0
    version_count: int = 0
    project: str = DEFAULT_PROJECT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DatasetVersion:
    """One immutable version of a dataset, stored as Parquet in the blob store.

    ``content_hash`` is the sha256 of the canonical Parquet file (see docs/data.md), which is
    also the blob's digest: identical data registered twice is one version. ``schema`` lists
    ``{"name", "type", "nullable"}`` per column; ``profile`` maps each column to its
    statistics (type, nulls, min/max, quantiles, top values).
    """

    id: str
    dataset: str
    version: int
    content_hash: str
    size: int
    num_rows: int
    schema: list[dict[str, Any]]
    profile: dict[str, dict[str, Any]]
    source: str
    description: str
    created_at: int

    @property
    def ref(self) -> str:
        """``name@version``, the form ``shipyard.data.load`` takes."""
        return f"{self.dataset}@{self.version}"

    @property
    def columns(self) -> list[str]:
        return [c["name"] for c in self.schema]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetVersion:
        return cls(**data)


@dataclass(frozen=True)
class PipelineInfo:
    """A pipeline Shipyard knows: its name and the ``module:function`` that defines it."""

    name: str
    ref: str
    description: str
    created_at: int
    updated_at: int
    project: str = DEFAULT_PROJECT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Span:
    """``duration_ms`` for records with optional start and end times."""

    start_time: int | None
    end_time: int | None

    @property
    def duration_ms(self) -> int | None:
        """End minus start time, or None until both are known."""
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time


@dataclass(frozen=True)
class PipelineRun(_Span):
    """One execution of a pipeline.

    ``dag`` lists the steps with their upstream steps (``[{"name", "step", "upstream"}]``);
    ``resumed_from`` names the run this one resumed; ``schedule`` and ``scheduled_for`` are
    set for runs the scheduler started.
    """

    id: str
    pipeline: str
    ref: str
    status: PipelineRunStatus
    params: dict[str, Any]
    executor: str
    dag: list[dict[str, Any]]
    created_at: int
    start_time: int | None = None
    end_time: int | None = None
    error: str = ""
    resumed_from: str | None = None
    schedule: str | None = None
    scheduled_for: int | None = None
    project: str = DEFAULT_PROJECT

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", as_status(PipelineRunStatus, self.status))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineRun:
        return cls(**data)


@dataclass(frozen=True)
class StepRun(_Span):
    """One step of a pipeline run: its state, cache key and hit flag, logs and outputs.

    ``inputs`` maps argument names to the outputs they came from; ``outputs`` lists the
    materialized values (``{"type", "hash", ...}``); ``params`` holds the plain arguments.
    """

    id: str
    pipeline_run_id: str
    name: str
    step: str
    status: StepStatus
    attempts: int = 0
    cache_key: str = ""
    cache_hit: bool = False
    start_time: int | None = None
    end_time: int | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    logs: str = ""
    error: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", as_status(StepStatus, self.status))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRun:
        return cls(**data)


@dataclass(frozen=True)
class Schedule:
    """A cron schedule that starts a pipeline.

    ``missed`` is ``skip`` (after downtime, run only the latest due time) or ``catch_up`` (run
    every missed time, one after another); ``overlap`` is ``skip`` (drop a firing while a run
    of this schedule is still going) or ``queue`` (start it when the previous one ends).
    Times are milliseconds since the epoch; ``last_fire_at`` is the latest due time handled.
    """

    name: str
    pipeline: str
    ref: str
    cron: str
    timezone: str = "UTC"
    params: dict[str, Any] = field(default_factory=dict)
    missed: str = "skip"
    overlap: str = "skip"
    enabled: bool = True
    created_at: int = 0
    last_fire_at: int | None = None
    project: str = DEFAULT_PROJECT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schedule:
        return cls(**data)
