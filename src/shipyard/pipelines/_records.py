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
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shipyard.client import Store
from shipyard.entities import LineageEdge


class StepRecords:
    """The step-run changes and lineage edges of one run that are not written yet."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._updates: dict[str, dict[str, Any]] = {}
        self._edges: list[LineageEdge] = []

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
        self._updates, self._edges = {}, []
