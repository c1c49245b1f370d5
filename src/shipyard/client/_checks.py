"""Input checks both Store implementations run before doing anything, so a bad value fails
with the same message embedded or remote (and a remote one fails before a round trip)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shipyard import _validation as v
from shipyard.client._util import walk_files
from shipyard.entities import ArtifactInfo, MetricPoint, Schedule
from shipyard.errors import InvalidArgument

_INT64 = 2**63 - 1
_valid_keys: set[str] = set()


def checked_metric(m: MetricPoint) -> MetricPoint:
    """A metric point with a valid key, a real value, a 64-bit step and a timestamp.

    The common case (a float value, int step and timestamp, a key seen before) is checked
    with a few type tests and returns the point itself: batches of thousands of points are
    checked on every call, embedded and on the server.
    """
    if (
        type(m.value) is float
        and type(m.step) is int
        and type(m.timestamp) is int
        and -_INT64 <= m.step <= _INT64
        and 0 <= m.timestamp <= _INT64
        and m.key in _valid_keys
    ):
        return m
    v.check_key(m.key, "metric key")
    if len(_valid_keys) < 100_000:
        _valid_keys.add(m.key)
    return MetricPoint(
        m.key,
        v.check_metric_value(m.key, m.value),
        v.check_step(m.step),
        v.check_timestamp(m.timestamp),
    )


def checked_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """Tags with valid keys and values."""
    return {v.check_key(k, "tag key"): v.tag_text(k, val) for k, val in (tags or {}).items()}


def checked_batch(
    metrics: Sequence[MetricPoint],
    params: Mapping[str, str] | None,
    tags: Mapping[str, str] | None,
) -> tuple[list[MetricPoint], dict[str, str], dict[str, str]]:
    """The three parts of a ``log_batch`` call, each checked."""
    clean_params = {
        v.check_key(k, "param key"): v.param_text(k, val) for k, val in (params or {}).items()
    }
    return [checked_metric(m) for m in metrics], clean_params, checked_tags(tags)


def artifact_files(local_path: Path, artifact_path: str) -> list[tuple[Path, str]]:
    """(local file, path in the run's tree) for a file, or every file below a folder.

    Every target path is checked before anything is stored. A symbolic link inside the folder
    that points outside it is refused (logging a folder never picks up files it does not
    contain); a linked folder that points inside it is skipped, since its files are logged
    where they really are.
    """
    artifact_path = v.check_artifact_path(artifact_path)
    local_path = Path(local_path)
    if not local_path.exists():
        raise InvalidArgument(f"no such file or folder: {local_path}", field="local_path")
    files = []
    for source, relative in walk_files(local_path):
        target = artifact_path if not relative else f"{artifact_path}/{relative}"
        files.append((source, v.check_artifact_path(target)))
    return files


def artifact_targets(
    files: Sequence[ArtifactInfo], artifact_path: str, dest: Path
) -> list[tuple[ArtifactInfo, Path]]:
    """Where each file of a downloaded folder goes under ``dest``; all are checked before any
    is written, so a path or symbolic link that would lead outside ``dest`` writes nothing."""
    targets = []
    for info in files:
        relative = info.path[len(artifact_path) :].lstrip("/")
        targets.append((info, v.safe_join(dest, relative)))
    return targets


def check_page_limit(limit: int, most: int) -> None:
    """A page size between 1 and ``most``."""
    if not 1 <= limit <= most:
        raise InvalidArgument(f"limit must be between 1 and {most}, got {limit}", field="limit")


# ----------------------------------------------------------------------------- schedules

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


def check_schedule(schedule: Schedule) -> Schedule:
    """A schedule with a valid name, cron expression, time zone and policies, or the error
    naming the first field at fault (the same check embedded, in the client and the server)."""
    v.check_name(schedule.name, "schedule name")
    v.check_name(schedule.pipeline, "pipeline name")
    check_timing(schedule.cron, schedule.timezone, schedule.missed, schedule.overlap)
    return schedule


def check_timing(cron: str, timezone: str, missed: str, overlap: str) -> None:
    """Check a schedule's cron expression, time zone and its missed / overlap policies."""
    check_cron(cron)
    time_zone(timezone)
    if missed not in MISSED:
        raise InvalidArgument(f"missed must be one of {', '.join(MISSED)}", field="missed")
    if overlap not in OVERLAP:
        raise InvalidArgument(f"overlap must be one of {', '.join(OVERLAP)}", field="overlap")
