"""A fake launcher for scheduler tests: it starts nothing and remembers what it was asked to
start, so the pipeline and monitoring scheduler tests can drive time by hand."""

from __future__ import annotations

from dataclasses import dataclass, field

from shipyard.entities import PipelineRun


@dataclass
class Handle:
    """A launched run's process as the scheduler polls it: None while running, else its code."""

    code: int | None = None

    def poll(self) -> int | None:
        return self.code


@dataclass
class Recorder:
    """A launcher that starts nothing and remembers what it was asked to start."""

    launched: list[PipelineRun] = field(default_factory=list)
    handles: dict[str, Handle] = field(default_factory=dict)

    def launch(self, run: PipelineRun) -> Handle:
        self.launched.append(run)
        self.handles[run.id] = Handle()
        return self.handles[run.id]
