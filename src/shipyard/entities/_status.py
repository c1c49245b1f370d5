"""The states a record can be in, one ``StrEnum`` per kind of record.

Each member *is* its string (``RunStatus.FINISHED == "FINISHED"``), so the values stored in the
database, sent over HTTP and written by older clients need no translation; code compares and
assigns members, so a typo is an attribute error instead of a status nothing ever matches.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from shipyard.errors import InvalidArgument

Status = TypeVar("Status", bound=StrEnum)


class RunStatus(StrEnum):
    """Where a tracked run is: started, planned, or ended one of three ways."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def ended(self) -> bool:
        """Whether the run has stopped for good (a terminal status nothing changes again)."""
        return self in TERMINAL_STATUSES


class Lifecycle(StrEnum):
    """Whether an experiment or run is in use or soft-deleted (restorable until purged)."""

    ACTIVE = "active"
    DELETED = "deleted"


class PipelineRunStatus(StrEnum):
    """Where a pipeline run is: waiting for its scheduled start, running, or ended."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"


class StepStatus(StrEnum):
    """Where one step of a pipeline run is; ``SKIPPED`` when an upstream step failed."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class MonitorRunStatus(StrEnum):
    """Whether a monitor run computed its report (``failed`` carries the error)."""

    OK = "ok"
    FAILED = "failed"


class AliasOutcome(StrEnum):
    """What a request to move or delete an alias did (``rejected``: a gate failed)."""

    MOVED = "moved"
    REJECTED = "rejected"
    DELETED = "deleted"


class RetrainOutcome(StrEnum):
    """How a monitor-triggered retraining ended."""

    PROMOTED = "promoted"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    FAILED = "failed"


RUN_STATUSES: tuple[RunStatus, ...] = tuple(RunStatus)
TERMINAL_STATUSES: frozenset[RunStatus] = frozenset(
    {RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED}
)
PIPELINE_RUN_STATUSES: tuple[PipelineRunStatus, ...] = tuple(PipelineRunStatus)
STEP_STATUSES: tuple[StepStatus, ...] = tuple(StepStatus)
MONITOR_RUN_STATUSES: tuple[MonitorRunStatus, ...] = tuple(MonitorRunStatus)


def as_status(kind: type[Status], value: str, *, field: str = "status") -> Status:
    """``value`` as a member of ``kind``; anything else is an InvalidArgument naming ``field``
    and the allowed values (records built from HTTP bodies and database rows pass here)."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(kind)
        raise InvalidArgument(
            f"{field} {value!r} is not one of {allowed}", field=field, allowed=list(kind)
        ) from None
