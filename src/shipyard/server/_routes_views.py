"""REST endpoints shaped for the web UI: what a page needs that the Store protocol answers
only in bulk.

- ``GET /runs/{run_id}/metrics/{key}/history?max_points=N``: a metric's history reduced on
  the server to at most N points (min/max per step bucket, so spikes survive), as columns,
  so a chart of 100,000 points travels and draws as 2,000;
- ``GET /experiments/{experiment_id}/columns``: every param, metric and tag key of an
  experiment's runs, for the runs table's column chooser (without loading any run).

Both are reads and need ``viewer`` on the project of the run or experiment, like the rest
of the API.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import Query, Response

from shipyard.server._access import CallerDep
from shipyard.server._http import api_router, respond

router = api_router()

#: The most points a reduced history may ask for (a screen is a few thousand pixels wide).
MAX_POINTS = 20_000
#: The most keys of each kind the columns endpoint lists.
MAX_COLUMNS = 5_000


@router.get("/runs/{run_id}/metrics/{key}/history", tags=["ui"])
def sampled_metric_history(
    run_id: str,
    key: str,
    caller: CallerDep,
    max_points: Annotated[int, Query(ge=2, le=MAX_POINTS)] = 2_000,
) -> Response:
    """A metric's history by step, reduced to at most ``max_points`` points: the points
    are cut into ``max_points / 2`` buckets of consecutive steps and each keeps its lowest
    and highest value (in step order), so the outline of the curve and its spikes survive.
    Answers columns ``step``, ``timestamp``, ``value`` (null for a logged NaN), with
    ``total`` (the points logged) and ``sampled`` (whether the answer is reduced)."""
    caller.require_run(run_id, "viewer")
    history = caller.store.get_metric_history(run_id, key)
    steps = np.fromiter((p.step for p in history), dtype=np.int64, count=len(history))
    times = np.fromiter((p.timestamp for p in history), dtype=np.int64, count=len(history))
    values = np.fromiter((p.value for p in history), dtype=np.float64, count=len(history))
    keep = min_max_buckets(values, max_points)
    return respond(
        {
            "key": key,
            "total": len(history),
            "sampled": len(keep) < len(history),
            "step": steps[keep].tolist(),
            "timestamp": times[keep].tolist(),
            "value": [None if v != v else v for v in values[keep].tolist()],
        }
    )


def min_max_buckets(values: np.ndarray[Any, np.dtype[np.float64]], max_points: int) -> Any:
    """Indexes (ascending) of at most ``max_points`` of ``values`` that keep its shape: the
    first and last point, and the lowest and highest finite value of each of
    ``max_points // 2`` equal buckets. All indexes when there are few enough."""
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    buckets = max(1, (max_points - 2) // 2)
    starts = np.linspace(0, n, buckets + 1).astype(np.int64)[:-1]
    finite = np.where(np.isnan(values), np.inf, values)
    lows = _arg_reduce(finite, starts, np.minimum)
    finite = np.where(np.isnan(values), -np.inf, values)
    highs = _arg_reduce(finite, starts, np.maximum)
    keep = np.unique(np.concatenate(([0, n - 1], lows, highs)))
    return keep[:max_points]


def _arg_reduce(values: Any, starts: Any, ufunc: Any) -> Any:
    """The index of the extreme (``ufunc`` = np.minimum or np.maximum) of each bucket."""
    extremes = ufunc.reduceat(values, starts)
    bucket = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(values))))
    hits = np.flatnonzero(values == extremes[bucket])
    # the first hit of each bucket
    first = np.unique(bucket[hits], return_index=True)[1]
    return hits[first]


@router.get("/experiments/{experiment_id}/columns", tags=["ui"])
def experiment_columns(experiment_id: str, caller: CallerDep) -> Response:
    """The param, metric and tag keys of an experiment's runs, sorted (at most 5,000 of
    each; ``truncated`` says when a kind has more)."""
    caller.require_experiment(experiment_id, "viewer")
    keys = caller.store.experiment_keys(experiment_id)
    answer: dict[str, Any] = {kind: found[:MAX_COLUMNS] for kind, found in keys.items()}
    answer["truncated"] = any(len(found) > MAX_COLUMNS for found in keys.values())
    return respond(answer)
