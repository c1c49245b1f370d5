"""The result of a pipeline run: its record, its step runs and the outputs it may load."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipyard.client import Store
from shipyard.entities import LineageNode, PipelineRun, PipelineRunStatus, StepRun
from shipyard.errors import ShipyardError


@dataclass
class PipelineRunResult:
    """A finished pipeline run and its step runs (by step name)."""

    run: PipelineRun
    steps: dict[str, StepRun]
    store: Store = field(repr=False)
    #: Content hashes of the outputs this process vouches for (see ``_trust``).
    trusted: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def status(self) -> PipelineRunStatus:
        return self.run.status

    @property
    def ok(self) -> bool:
        return self.run.status == PipelineRunStatus.FINISHED

    @property
    def lineage_node(self) -> LineageNode:
        return LineageNode("pipeline_run", self.run.id)

    @property
    def cache_hits(self) -> list[str]:
        return [name for name, s in self.steps.items() if s.cache_hit]

    def output(self, step: str, index: int | None = None) -> Any:
        """The value step ``step`` returned (a tuple step's ``index``-th value).

        A pickle (or a custom model's class) is loaded only when this run produced it or
        verified its seal; see docs/pipelines.md.
        """
        from shipyard.pipelines._step_outputs import load_output

        refs = self.steps[step].outputs
        if not refs:
            raise ShipyardError(f"step {step!r} has no stored outputs (status {self.status})")
        if index is None and len(refs) > 1:
            return tuple(load_output(r, self.store, trusted=self.trusted, step=step) for r in refs)
        return load_output(refs[index or 0], self.store, trusted=self.trusted, step=step)


__all__ = ["PipelineRunResult"]
