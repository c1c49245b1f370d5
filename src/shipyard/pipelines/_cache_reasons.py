"""Why a step was served from the cache or ran: the first line of its step run's logs.

The engine writes ``cached: same code, inputs and params as step run X of pipeline run Y``
for a cache hit and, for a step that ran, ``re-ran: ...`` naming what differs from the same
step in the pipeline's previous run: a param (old and new value), an input (the dataset
versions, or the upstream step whose output changed), the code (by name: the step's own
source, a helper function or class, a constant of its module it uses, or a contract; see
``_code_parts``), or that the cache was off, cleared or not reusable. ``shipyard
pipelines show`` prints it under each step.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from shipyard.client import Store
from shipyard.entities import StepRun
from shipyard.pipelines._code_parts import code_changes, source_file

#: How a recorded cache decision starts.
PREFIXES = ("cached: ", "re-ran: ")
_RUNS = 5
_SHOWN = 40


def cached(hit: StepRun) -> str:
    """The decision for a step served from ``hit``'s outputs."""
    return (
        f"cached: same code, inputs and params as step run {hit.id[:12]} of pipeline run "
        f"{hit.pipeline_run_id[:12]}"
    )


def decision(logs: str) -> str:
    """The cache decision recorded at the top of a step run's logs ("" when none)."""
    first = logs.split("\n", 1)[0]
    return first if first.startswith(PREFIXES) else ""


class PreviousRun:
    """The step runs of the pipeline's latest earlier run, loaded once when first asked."""

    def __init__(self, store: Store, pipeline: str) -> None:
        self.store, self.pipeline = store, pipeline
        self._steps: dict[str, StepRun] | None = None

    def steps(self, current_run: str) -> dict[str, StepRun]:
        if self._steps is None:
            self._steps = {}
            runs = self.store.list_pipeline_runs(pipeline=self.pipeline, limit=_RUNS)
            for run in runs:
                if run.id != current_run:
                    self._steps = {s.name: s for s in self.store.list_step_runs(run.id)}
                    break
        return self._steps

    def explain(
        self,
        current_run: str,
        name: str,
        key: str,
        inputs: dict[str, Any],
        params: dict[str, Any],
        *,
        cache: bool,
        parts: Mapping[str, str] | None = None,
        fn: Callable[..., Any] | None = None,
    ) -> str:
        """Why step ``name`` (cache key ``key``) runs instead of coming from the cache;
        ``parts`` is the step's code record and ``fn`` its function, which name the parts
        of the code that changed."""
        if not cache:
            return "re-ran: the cache was off (--no-cache, cache=False or @step(cache=False))"
        old = self.steps(current_run).get(name)
        if old is None or not old.cache_key:
            return f"re-ran: no earlier run of pipeline {self.pipeline!r} has this step"
        changes = [
            f"param {k!r} changed ({_short(old.params.get(k))} -> {_short(params.get(k))})"
            for k in sorted(set(old.params) | set(params))
            if old.params.get(k) != params.get(k)
        ]
        for arg in sorted(set(old.inputs) | set(inputs)):
            before, after = old.inputs.get(arg), inputs.get(arg)
            if _hashes(before) != _hashes(after):
                changes.append(f"input {arg!r} changed ({_origin(before)} -> {_origin(after)})")
        if changes:
            return "re-ran: " + "; ".join(changes)
        if old.cache_key == key:
            return (
                f"re-ran: step run {old.id[:12]} had the same code, inputs and params but is "
                "not in the cache (cleared, or it did not finish)"
            )
        where = source_file(fn) if fn is not None else "?"
        changed = code_changes(old.code_parts, parts or {}, where)
        if changed:
            return "re-ran: " + "; ".join(changed)
        return (
            "re-ran: code changed since pipeline run "
            f"{old.pipeline_run_id[:12]} (the step's source, or a function, class or "
            "constant of its module that it uses)"
        )


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _hashes(spec: Any) -> Any:
    if isinstance(spec, list):
        return [_hashes(s) for s in spec]
    return spec.get("hash") if isinstance(spec, dict) else None


def _origin(spec: Any) -> str:
    """Where an input came from: a dataset version, or an upstream step's output."""
    if spec is None:
        return "none"
    if isinstance(spec, list):
        return ", ".join(_origin(s) for s in spec[:3]) + (" ..." if len(spec) > 3 else "")
    if spec.get("ref"):
        return str(spec["ref"])
    digest = spec.get("hash")
    shown = digest[:10] if isinstance(digest, str) else "tuple"
    return f"output of step {spec.get('from', '?')!r} {shown}"
