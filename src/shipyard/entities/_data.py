"""Dataset versions, pipelines, their runs and step runs, and schedules."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shipyard.entities._status import PipelineRunStatus, StepStatus, as_status
from shipyard.entities._tracking import DEFAULT_PROJECT


@dataclass(frozen=True)
class Dataset:
    """A named, versioned dataset.

    Attributes:
        name: The dataset's name, unique in its project.
        description: Free text.
        created_at: When it was created (milliseconds since the epoch).
        updated_at: When it last changed (milliseconds since the epoch).
        latest_version: The highest version number (0 before the first).
        version_count: How many versions it has.
        project: The project it belongs to.
    """

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

    Attributes:
        id: The version's id.
        dataset: The dataset's name.
        version: The version number (1, 2, 3 ... per dataset).
        content_hash: The sha256 of the canonical Parquet file (the blob's digest).
        size: The file's size in bytes.
        num_rows: Its number of rows.
        schema: Its columns, one ``{"name", "type", "nullable"}`` mapping each.
        profile: Per-column statistics.
        source: Where the data came from (a path or URI), for the record.
        description: Free text.
        created_at: When it was registered (milliseconds since the epoch).
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
    """A pipeline Shipyard knows: its name and the ``module:function`` that defines it.

    Attributes:
        name: The pipeline's name, unique in its project.
        ref: The ``module:function`` that defines it.
        description: Free text.
        created_at: When it was first recorded (milliseconds since the epoch).
        updated_at: When it last changed (milliseconds since the epoch).
        project: The project it belongs to.
    """

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

    Attributes:
        id: The run's id.
        pipeline: The pipeline's name.
        ref: The ``module:function`` it ran.
        status: The run's status (``PipelineRunStatus``).
        params: The parameters it ran with.
        executor: The executor that ran it (``inline``, ``process``, ``ray``).
        dag: The steps and their upstream steps.
        created_at: When it was created (milliseconds since the epoch).
        start_time: When it started, or None before.
        end_time: When it ended, or None before.
        error: Why it failed, when it did.
        resumed_from: The run it resumed, if any.
        schedule: The schedule that started it, if any.
        scheduled_for: The due time the scheduler started it for, if any.
        project: The project it belongs to.
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

    Attributes:
        id: The step run's id.
        pipeline_run_id: The pipeline run it belongs to.
        name: The step's name in the pipeline.
        step: The step function (``module:function``).
        status: Its status (``StepStatus``).
        attempts: How many times it was tried.
        cache_key: The key its outputs are cached under.
        cache_hit: True when its outputs came from the cache.
        start_time: When it started, or None before.
        end_time: When it ended, or None before.
        inputs: Each argument's source output.
        params: Its plain arguments.
        outputs: Its materialized values.
        logs: What it printed.
        error: Why it failed, when it did.
        code_parts: A short hash of each part of its code fingerprint (the step's own
            source, each helper, constant and contract it covers), so a changed key can be
            explained by name; empty on step runs recorded before it was kept.
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
    code_parts: dict[str, str] = field(default_factory=dict)

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

    Attributes:
        name: The schedule's name, unique in its project.
        pipeline: The pipeline it starts.
        ref: The pipeline's ``module:function``.
        cron: The cron expression.
        timezone: The time zone the cron expression is read in.
        params: The parameters each run gets.
        missed: ``skip`` or ``catch_up``.
        overlap: ``skip`` or ``queue``.
        enabled: False pauses it.
        created_at: When it was created.
        last_fire_at: The latest due time handled, or None.
        project: The project it belongs to.
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
