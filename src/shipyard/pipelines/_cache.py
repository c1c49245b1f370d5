"""Clearing the step cache of a pipeline: ``shipyard pipelines cache clear [--step]``.

A step is served from the cache when an earlier finished step run of the project has its
cache key. Clearing forgets those keys (the step runs, their outputs and lineage stay as
history), so the next run computes the steps again.
"""

from __future__ import annotations

from shipyard.entities import StepStatus
from shipyard.errors import InvalidArgument

_RUNS = 10_000


def clear_cache(pipeline: str, step: str | None = None) -> int:
    """Forget the cached step runs of ``pipeline`` (only of step ``step`` when given).

    Returns:
        How many step runs no longer serve as cache.

    Raises:
        NotFound: No pipeline ``pipeline`` in the current project.
        InvalidArgument: ``step`` is not a step the pipeline's runs have.
    """
    from shipyard.tracking import get_client

    store = get_client().store
    store.get_pipeline(pipeline)  # NotFound names it
    cleared: dict[str, dict[str, str]] = {}
    seen: set[str] = set()
    for run in store.list_pipeline_runs(pipeline=pipeline, limit=_RUNS):
        for step_run in store.list_step_runs(run.id):
            seen.add(step_run.name)
            if step is not None and step_run.name != step:
                continue
            if step_run.status == StepStatus.FINISHED and step_run.cache_key:
                cleared[step_run.id] = {"cache_key": ""}
    if step is not None and step not in seen:
        raise InvalidArgument(
            f"pipeline {pipeline!r} has no runs of a step {step!r}; its steps: "
            f"{', '.join(sorted(seen)) or 'none yet'}",
            field="step",
        )
    if cleared:
        store.update_step_runs(cleared)
    return len(cleared)
