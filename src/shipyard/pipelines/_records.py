"""What a pipeline run records about its step runs, written in batches.

The engine changes a step run several times (RUNNING with its cache key and inputs, then
FINISHED with its outputs, logs and lineage edges; or FINISHED from the cache; FAILED,
SKIPPED, PENDING for a retry). Written one by one, those are one or two transactions per
step, the largest part of a trivial step's cost. Here they are queued (changes to one step
run merged, later values winning) and written in one transaction by :meth:`flush`.

The engine flushes before it waits for the executor, before it sleeps for a retry and when
the run ends, so a crash mid-run (while a step runs) leaves every finished step recorded
with its outputs and lineage, as before. With the inline executor the flush comes before
the next step's code starts; with an executor that starts steps in other processes
(``starts_on_submit``: process pool, Ray) right after the next step is handed over, so the
write overlaps the step rather than delaying it.

What was written is also kept, merged over the PENDING records the run started with, so the
run's result is built from it (:meth:`StepRecords.step_runs`) instead of read back from the
store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from shipyard.client import Store
from shipyard.entities import LineageEdge, StepRun

#: The step-run fields the store keeps as JSON: a value read back is its JSON round trip.
_JSON_FIELDS = ("inputs", "params", "outputs", "code_parts")


class StepRecords:
    """The step-run changes and lineage edges of one run that are not written yet."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._updates: dict[str, dict[str, Any]] = {}
        self._edges: list[LineageEdge] = []
        self._created: list[StepRun] = []  # the records as the run created them
        self._written: dict[str, dict[str, Any]] = {}  # every change written since

    def created(self, step_runs: Iterable[StepRun]) -> None:
        """Remember the step runs as the store created them (the base of
        :meth:`step_runs`)."""
        self._created.extend(step_runs)

    def update(self, step_run_id: str, lineage: Iterable[LineageEdge] = (), **values: Any) -> None:
        """Queue changes to step run ``step_run_id`` and the lineage edges recorded with
        them."""
        self._updates.setdefault(step_run_id, {}).update(values)
        self._edges.extend(lineage)

    def edges(self, lineage: Iterable[LineageEdge]) -> None:
        """Queue lineage edges."""
        self._edges.extend(lineage)

    def flush(self) -> None:
        """Write everything queued in one transaction (nothing when nothing is queued). On
        a failure the changes stay queued, so a later flush can still write them."""
        if not self._updates and not self._edges:
            return
        self.store.update_step_runs(self._updates, list(dict.fromkeys(self._edges)))
        for step_run_id, values in self._updates.items():
            self._written.setdefault(step_run_id, {}).update(values)
        self._updates, self._edges = {}, []

    def step_runs(self) -> list[StepRun]:
        """The run's step runs as the store now holds them (what was created, with every
        change written since), in the store's order: by start time, unstarted last, then
        by name."""
        runs = [_applied(s, self._written.get(s.id, {})) for s in self._created]
        return sorted(runs, key=lambda s: (s.start_time is None, s.start_time or 0, s.name))


def _applied(step_run: StepRun, values: dict[str, Any]) -> StepRun:
    """``step_run`` with ``values`` written over it, JSON fields as the store returns them."""
    if not values:
        return step_run
    stored = [name for name in _JSON_FIELDS if name in values]  # one round trip for all
    decoded = json.loads(json.dumps([values[name] for name in stored], default=str))
    return replace(step_run, **{**values, **dict(zip(stored, decoded, strict=True))})
