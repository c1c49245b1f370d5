"""Monitors and their runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shipyard.entities._status import MonitorRunStatus, as_status
from shipyard.entities._tracking import DEFAULT_PROJECT


@dataclass(frozen=True)
class Monitor:
    """A monitor on a model reference (``churn@champion``): the time window each run scores,
    an optional cron schedule, alert rules (``"share_drifted > 0.3"``, ``"auc < 0.75"``), alert
    channels (``{"type": "webhook", "url": ...}``, ``{"type": "log"}``), the reference
    profile's blob digest (empty: the model version's training data, found through lineage)
    and drift options (``alpha``, ``columns``, ``importances``, ``tests``, ``thresholds``).

    Attributes:
        name: The monitor's name, unique in its project.
        model: The model reference it watches (``churn@champion``).
        window: The time window each run scores (``1h``).
        schedule: A cron expression; empty: runs only when asked.
        alerts: Alert rules.
        channels: Where alerts are sent.
        reference: The reference profile's blob digest, or empty.
        options: The drift options.
        created_at: When it was created (milliseconds since the epoch).
        updated_at: When it last changed (milliseconds since the epoch).
        project: The project it belongs to.
    """

    name: str
    model: str
    window: str = "1h"
    schedule: str = ""
    alerts: list[str] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    reference: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    created_at: int = 0
    updated_at: int = 0
    project: str = DEFAULT_PROJECT

    def spec(self) -> dict[str, Any]:
        """What is stored as JSON beside the indexed fields."""
        return {
            "alerts": self.alerts,
            "channels": self.channels,
            "reference": self.reference,
            "options": self.options,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Monitor:
        return cls(**data)


@dataclass(frozen=True)
class MonitorRun:
    """One run of a monitor: the window ``[window_start, window_end)`` (epoch ms), the model
    version it scored, ``status`` (``ok`` or ``failed``, with ``error``) and ``result``:
    ``drift`` (the report), ``performance``, ``metrics`` (the flat values alert rules see),
    ``alerts`` (each rule's state) and ``notifications`` (each delivery attempt).

    Attributes:
        id: The run's id.
        monitor: The monitor's name.
        started_at: When it started (milliseconds since the epoch).
        finished_at: When it finished (milliseconds since the epoch).
        window_start: The window's start (inclusive).
        window_end: The window's end (exclusive).
        model_version: The model version it scored.
        status: ``ok`` or ``failed``.
        result: The drift report, performance, metrics, alerts and notifications.
        error: Why it failed, when it did.
    """

    id: str
    monitor: str
    started_at: int
    finished_at: int
    window_start: int
    window_end: int
    model_version: int
    status: MonitorRunStatus
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", as_status(MonitorRunStatus, self.status))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonitorRun:
        return cls(**data)
