"""REST endpoints shaped for the web UI: what a page needs that the Store protocol answers
only in bulk.

- ``GET /runs/{run_id}/metrics/{key}/history?max_points=N&axis=step|time``: a metric's
  history reduced in the database to at most N points (``Store.sampled_metric_history``:
  per bucket of steps or time its first, last, lowest and highest point, so spikes
  survive), as columns, so a chart of 100,000 points reads, travels and draws as 2,000;
- ``GET /experiments/{experiment_id}/columns``: every param, metric and tag key of an
  experiment's runs, for the runs table's column chooser (without loading any run).

Both are reads and need ``viewer`` on the project of the run or experiment, like the rest
of the API.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Response

from shipyard.client import MAX_SAMPLED_POINTS
from shipyard.server._access import CallerDep
from shipyard.server._http import api_router, respond

router = api_router()

#: The most keys of each kind the columns endpoint lists.
MAX_COLUMNS = 5_000


@router.get("/runs/{run_id}/metrics/{key}/history", tags=["ui"])
def sampled_metric_history(
    run_id: str,
    key: str,
    caller: CallerDep,
    max_points: Annotated[int, Query(ge=2, le=MAX_SAMPLED_POINTS)] = 2_000,
    axis: Literal["step", "time"] = "step",
) -> Response:
    """A metric's history reduced to at most ``max_points`` points (see
    ``Store.sampled_metric_history``), in order of ``axis``. Answers columns ``step``,
    ``timestamp``, ``value`` (null for a logged NaN), with ``total`` (the points logged)
    and ``sampled`` (whether the answer is reduced)."""
    caller.require_run(run_id, "viewer")
    sample = caller.store.sampled_metric_history(run_id, key, max_points, axis)
    return respond(
        {
            "key": key,
            "axis": sample.axis,
            "total": sample.total,
            "sampled": sample.sampled,
            "step": [p.step for p in sample.points],
            "timestamp": [p.timestamp for p in sample.points],
            "value": [None if p.value != p.value else p.value for p in sample.points],
        }
    )


@router.get("/experiments/{experiment_id}/columns", tags=["ui"])
def experiment_columns(experiment_id: str, caller: CallerDep) -> Response:
    """The param, metric and tag keys of an experiment's runs, sorted (at most 5,000 of
    each; ``truncated`` says when a kind has more)."""
    caller.require_experiment(experiment_id, "viewer")
    keys = caller.store.experiment_keys(experiment_id)
    answer: dict[str, Any] = {kind: found[:MAX_COLUMNS] for kind, found in keys.items()}
    answer["truncated"] = any(len(found) > MAX_COLUMNS for found in keys.values())
    return respond(answer)
