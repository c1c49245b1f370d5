"""The pipelines slice of the Store protocol: pipelines, their runs and step runs (with the
step cache), and schedules, with the input checks of each method."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shipyard import _validation as v
from shipyard.client._checking import checks
from shipyard.client._checks import name_of, page_limit
from shipyard.entities import (
    DEFAULT_PROJECT,
    LineageEdge,
    PipelineInfo,
    PipelineRun,
    Schedule,
    StepRun,
)
from shipyard.errors import InvalidArgument
from shipyard.store import RUN_FIELDS, STEP_FIELDS

#: The most pipeline runs one listing returns.
MAX_RUNS_PAGE = 10_000
#: What a schedule does about due times it missed, and about a firing while it still runs.
MISSED = ("skip", "catch_up")
OVERLAP = ("skip", "queue")


def check_cron(cron: str) -> str:
    """A 5-field cron expression (``"0 3 * * *"``), or a clear error."""
    from croniter import croniter

    if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise InvalidArgument(
            f"{cron!r} is not a valid cron expression; use 5 fields 'minute hour day month "
            "weekday', e.g. '0 3 * * *' (03:00 daily) or '*/15 * * * *' (every 15 minutes)",
            field="cron",
        )
    return cron


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or a clear error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidArgument(
            f"unknown time zone {name!r}; use an IANA name such as 'UTC' or 'Europe/Oslo'",
            field="timezone",
        ) from None


def check_timing(cron: str, timezone: str, missed: str, overlap: str) -> None:
    """Check a schedule's cron expression, time zone and its missed / overlap policies."""
    check_cron(cron)
    time_zone(timezone)
    if missed not in MISSED:
        raise InvalidArgument(f"missed must be one of {', '.join(MISSED)}", field="missed")
    if overlap not in OVERLAP:
        raise InvalidArgument(f"overlap must be one of {', '.join(OVERLAP)}", field="overlap")


def check_schedule(schedule: Schedule) -> Schedule:
    """A schedule with a valid name, cron expression, time zone and policies, or the error
    naming the first field at fault."""
    v.check_name(schedule.name, "schedule name")
    v.check_name(schedule.pipeline, "pipeline name")
    check_timing(schedule.cron, schedule.timezone, schedule.missed, schedule.overlap)
    return schedule


def checked_pipeline_run(run: PipelineRun) -> PipelineRun:
    """A pipeline run naming a valid pipeline name."""
    v.check_name(run.pipeline, "pipeline name")
    return run


def changeable(fields: frozenset[str], what: str) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """A check for the fields an update of a ``what`` may change (the others are refused,
    naming the first one)."""

    def check_fields(values: Mapping[str, Any]) -> dict[str, Any]:
        for key in values:
            if key not in fields:
                raise InvalidArgument(f"{what} field {key!r} cannot be changed", field=key)
        return dict(values)

    return check_fields


#: The most parts a step run's code record may hold, and the longest name and hash.
MAX_CODE_PARTS = 1000
_PART_NAME_LEN, _PART_HASH_LEN = 300, 64
_HEX = re.compile(f"[0-9a-f]{{1,{_PART_HASH_LEN}}}")


def check_code_parts(parts: Any) -> dict[str, str]:
    """A step run's code record: at most ``MAX_CODE_PARTS`` names of parts of its code
    (short texts) mapped to their hashes (hex), or a clear error naming ``code_parts``."""
    if not isinstance(parts, Mapping) or len(parts) > MAX_CODE_PARTS:
        raise InvalidArgument(
            f"code_parts must be a mapping of at most {MAX_CODE_PARTS} part names to hashes",
            field="code_parts",
        )
    for name, digest in parts.items():
        if not (
            isinstance(name, str)
            and 0 < len(name) <= _PART_NAME_LEN
            and isinstance(digest, str)
            and _HEX.fullmatch(digest)
        ):
            raise InvalidArgument(
                f"code_parts entry {str(name)[:80]!r}: a part name of 1-{_PART_NAME_LEN} "
                f"characters must map to a hex hash of 1-{_PART_HASH_LEN} characters",
                field="code_parts",
            )
    return dict(parts)


changeable_run = changeable(RUN_FIELDS, "pipeline run")
_changeable_step_fields = changeable(STEP_FIELDS, "step run")


def changeable_step(values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a step run update may change, with its code record checked."""
    checked = _changeable_step_fields(values)
    if "code_parts" in checked:
        checked["code_parts"] = check_code_parts(checked["code_parts"])
    return checked


def checked_step_updates(
    updates: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """``{step_run_id: {field: value}}`` changing only what a step run may change."""
    return {step_run_id: changeable_step(values) for step_run_id, values in updates.items()}


@runtime_checkable
class PipelinesStore(Protocol):
    """Pipelines, pipeline runs, step runs, the step cache and schedules."""

    # ------------------------------------------------------------------ pipelines

    @checks(name=name_of("pipeline name"), project=v.check_project)
    def register_pipeline(
        self, name: str, ref: str, description: str = "", project: str = DEFAULT_PROJECT
    ) -> None:
        """Record a pipeline's name and the ``module:function`` that defines it, in
        ``project`` (an existing pipeline keeps its project)."""
        ...

    def get_pipeline(self, name: str) -> PipelineInfo:
        """A registered pipeline by name."""
        ...

    def list_pipelines(self, projects: Sequence[str] | None = None) -> list[PipelineInfo]:
        """Every registered pipeline of ``projects`` (every project when None), by name."""
        ...

    # ------------------------------------------------------------------ pipeline runs

    @checks(run=checked_pipeline_run, project=v.check_project)
    def create_pipeline_run(
        self, run: PipelineRun, steps: Sequence[StepRun] = (), project: str = DEFAULT_PROJECT
    ) -> tuple[PipelineRun, list[str]]:
        """Record a pipeline run in ``project`` and its step runs at once (one transaction);
        returns the stored run and the ids of the step runs, in the order given."""
        ...

    def add_step_runs(self, pipeline_run_id: str, steps: Sequence[StepRun]) -> list[str]:
        """Add step runs to an existing pipeline run; returns their ids."""
        ...

    def get_pipeline_run(self, run_id: str) -> PipelineRun:
        """A pipeline run by id or unique id prefix."""
        ...

    @checks(values=changeable_run)
    def update_pipeline_run(self, run_id: str, **values: Any) -> None:
        """Change ``status``, ``start_time``, ``end_time``, ``error``, ``executor``, ``dag``
        or ``params``."""
        ...

    @checks(limit=page_limit(MAX_RUNS_PAGE))
    def list_pipeline_runs(
        self,
        pipeline: str | None = None,
        statuses: Sequence[str] | None = None,
        schedule: str | None = None,
        limit: int = 50,
        projects: Sequence[str] | None = None,
    ) -> list[PipelineRun]:
        """Pipeline runs, newest first (of one pipeline, schedule or set of statuses), of
        ``projects`` (every project when None)."""
        ...

    # ------------------------------------------------------------------ step runs

    @checks(values=changeable_step)
    def update_step_run(
        self, step_run_id: str, lineage: Sequence[LineageEdge] = (), **values: Any
    ) -> None:
        """Change fields of a step run (status, times, cache key and hit, outputs, logs...),
        recording ``lineage`` edges at once (one transaction)."""
        ...

    @checks(updates=checked_step_updates)
    def update_step_runs(
        self, updates: Mapping[str, Mapping[str, Any]], lineage: Sequence[LineageEdge] = ()
    ) -> None:
        """Change several step runs at once (``{step_run_id: {field: value}}``), recording
        ``lineage`` edges in the same transaction."""
        ...

    def get_step_run(self, step_run_id: str) -> StepRun:
        """A step run by id."""
        ...

    def list_step_runs(self, pipeline_run_id: str) -> list[StepRun]:
        """The step runs of a pipeline run."""
        ...

    @checks(project=v.check_project)
    def find_cached_step_run(
        self, cache_key: str, project: str = DEFAULT_PROJECT
    ) -> StepRun | None:
        """The newest successful step run with this cache key in ``project``, if any
        (another project's step runs are never reused)."""
        ...

    # ------------------------------------------------------------------ schedules

    @checks(schedule=check_schedule, project=v.check_project)
    def put_schedule(self, schedule: Schedule, project: str = DEFAULT_PROJECT) -> Schedule:
        """Create or replace a schedule by name, in ``project`` (an existing schedule keeps
        its project)."""
        ...

    def get_schedule(self, name: str) -> Schedule:
        """A schedule by name."""
        ...

    def list_schedules(self, projects: Sequence[str] | None = None) -> list[Schedule]:
        """Every schedule of ``projects`` (every project when None), by name."""
        ...

    def delete_schedule(self, name: str) -> None:
        """Remove a schedule (its past runs are kept)."""
        ...

    def set_schedule_fired(self, name: str, last_fire_at: int) -> None:
        """Record the latest due time the scheduler has handled."""
        ...
