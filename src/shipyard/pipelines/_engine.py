"""Running a pipeline: caching, submitting ready steps, retries, failures and lineage.

The engine runs in the calling process. It records the pipeline run and a PENDING step run
per node up front, then loops: every node whose upstream steps finished gets its cache key
(step code + input content hashes + params); a cache hit reuses the earlier outputs without
running anything, a miss goes to the executor. A failed attempt is retried after
``retry_delay * backoff ** (attempt - 1)`` seconds while other steps go on; a step that
fails for good marks everything downstream SKIPPED, and independent branches still finish.

The engine also decides which outputs may run code when loaded (pickles, custom models; see
``_trust``): it vouches for what its own executor returned and for sealed outputs of the
step runs it reuses, seals what its steps produce, and hands each task the hashes it may
load. A reused step run whose references were changed fails the step; nothing is loaded.
"""

from __future__ import annotations

import heapq
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipyard.client import Store, now_ms
from shipyard.config import Settings
from shipyard.entities import (
    LineageEdge,
    LineageNode,
    PipelineRun,
    PipelineRunStatus,
    StepRun,
    StepStatus,
)
from shipyard.errors import PipelineFailed, ShipyardError
from shipyard.pipelines._cache_reasons import PreviousRun, cached
from shipyard.pipelines._executors import Executor, make_executor
from shipyard.pipelines._hashing import cache_key
from shipyard.pipelines._pipeline import Pipeline, Plan, load_pipeline
from shipyard.pipelines._task import StepOutcome, StepTask
from shipyard.pipelines._trust import Reuse, Sealer, check_reuse, vouched_outputs

EventHook = Callable[[str, str, dict[str, Any]], None]
_DATASET_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")


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


def _flat_refs(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """Every output reference among a step's inputs (lists and tuples opened)."""
    flat: list[dict[str, Any]] = []
    for spec in inputs.values():
        for ref in spec if isinstance(spec, list) else [spec]:
            flat.extend(ref["items"] if ref.get("type") == "tuple" else [ref])
    return flat


def _dataset_name(pipeline: str, node: str, output: str | None) -> str:
    name = f"{pipeline}.{node}" + (f".{output}" if output is not None else "")
    return _DATASET_SAFE.sub("-", name).lstrip("._-")[:200] or "output"


class _Run:
    """The state of one pipeline run while the engine works on it."""

    def __init__(
        self,
        pipeline: Pipeline,
        plan: Plan,
        store: Store,
        settings: Settings,
        executor: Executor,
        cache: bool,
        on_event: EventHook | None,
    ) -> None:
        self.pipeline, self.plan, self.store, self.settings = pipeline, plan, store, settings
        self.executor, self.cache, self.on_event = executor, cache, on_event
        self.state = dict.fromkeys(plan.order, StepStatus.PENDING)
        # each step's upstream steps, computed once: ready() asks after every transition
        self.upstream = {name: node.upstream for name, node in plan.nodes.items()}
        self.outputs: dict[str, list[dict[str, Any]]] = {}
        self.attempts = dict.fromkeys(plan.order, 0)
        self.ids: dict[str, str] = {}
        self.run_id = ""
        self.retry_heap: list[tuple[float, str]] = []
        self.pending_tasks: dict[str, StepTask] = {}
        self.recorded: dict[str, dict[str, Any]] = {}  # written with the RUNNING update
        self.keys: dict[str, str] = {}  # cache key per started node
        self.notes: dict[str, str] = {}  # put before a step's logs (why the cache was not used)
        self.sealer = Sealer.open(settings, pipeline.name)
        self.trusted: set[str] = set()  # output hashes this run vouches for
        self.datasets = self._resolve_datasets()
        self.previous = PreviousRun(store, pipeline.name)  # explains why a step re-ran

    # ------------------------------------------------------------------ inputs

    def _resolve_datasets(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Resolve every ``data.ref(...)`` argument now, so one run sees one version."""
        from shipyard.data import DatasetRef

        resolved = {}
        for name in self.plan.order:
            for arg, spec in self.plan.nodes[name].outputs.items():
                if isinstance(spec, DatasetRef):
                    version = spec.resolve(self.store)
                    resolved[(name, arg)] = {
                        "type": "dataframe",
                        "hash": version.content_hash,
                        "dataset_version_id": version.id,
                        "ref": version.ref,
                        "as": spec.as_,
                    }
        return resolved

    def _output_ref(self, up: str, index: int | None) -> dict[str, Any]:
        refs = self.outputs[up]
        if index is not None:
            ref = refs[index]
        elif self.plan.nodes[up].step.n_outputs is None:
            ref = refs[0]
        else:
            ref = {"type": "tuple", "items": refs, "hash": [r["hash"] for r in refs]}
        return {**ref, "from": up}

    def inputs_of(self, name: str) -> dict[str, Any]:
        inputs: dict[str, Any] = {}
        for arg, spec in self.plan.nodes[name].outputs.items():
            if (name, arg) in self.datasets:
                inputs[arg] = self.datasets[(name, arg)]
            elif spec[0] == "output":
                inputs[arg] = self._output_ref(spec[1], spec[2])
            else:
                inputs[arg] = [self._output_ref(up, index) for up, index in spec[1]]
        return inputs

    # ------------------------------------------------------------------ records

    def event(self, name: str, status: str, **info: Any) -> None:
        if self.on_event is not None:
            self.on_event(name, status, info)

    def edges(
        self, name: str, inputs: dict[str, Any], outputs: list[dict[str, Any]], produced: bool
    ) -> list[LineageEdge]:
        """Record the step's lineage: its pipeline run, what it consumed and, when it really
        ran (not from the cache), the datasets it produced."""
        step = LineageNode("step_run", self.ids[name])
        edges = [LineageEdge(LineageNode("pipeline_run", self.run_id), step, "produced")]
        for ref in _flat_refs(inputs):
            if ref.get("dataset_version_id"):  # data: the link goes through the dataset
                src = LineageNode("dataset_version", ref["dataset_version_id"])
                edges.append(LineageEdge(src, step, "consumed"))
            elif ref.get("from"):  # a model, array or JSON value: straight from its step
                src = LineageNode("step_run", self.ids[ref["from"]])
                edges.append(LineageEdge(src, step, "consumed"))
        for ref in outputs if produced else []:
            if ref.get("dataset_version_id"):
                dst = LineageNode("dataset_version", ref["dataset_version_id"])
                edges.append(LineageEdge(step, dst, "produced"))
        return list(dict.fromkeys(edges))

    # ------------------------------------------------------------------ trust

    def trusts_pickle(self, name: str) -> bool:
        """Whether step ``name`` may store (and its consumers load) pickles."""
        options = self.plan.nodes[name].step.options
        return self.pipeline.trusted_pickle or options.trusted_pickle

    def reuse(self, name: str, outputs: list[dict[str, Any]], cache_key: str) -> Reuse:
        """Whether recorded outputs of step ``name`` can be reused (see ``_trust``)."""
        return check_reuse(self.sealer, outputs, cache_key, trusts_pickle=self.trusts_pickle(name))

    def produced(self, name: str, outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Vouch for what this run's own executor returned for ``name``, sealed for reuse."""
        for ref in outputs:
            kind = ref.get("type")
            if kind == "model" or (kind == "pickle" and self.trusts_pickle(name)):
                self.trusted.add(ref["hash"])
        return [self.sealer.seal(ref, self.keys[name]) for ref in outputs]

    # ------------------------------------------------------------------ transitions

    def ready(self) -> list[str]:
        state, upstream = self.state, self.upstream
        return [
            n
            for n, s in state.items()
            if s == StepStatus.PENDING
            and n not in self.pending_tasks
            and all(state[u] == StepStatus.FINISHED for u in upstream[n])
        ]

    def key_of(self, name: str, inputs: dict[str, Any]) -> str:
        """The cache key of step ``name`` over ``inputs``: its code, input hashes, params."""
        node = self.plan.nodes[name]
        hashes = {
            arg: ([r["hash"] for r in spec] if isinstance(spec, list) else spec["hash"])
            for arg, spec in inputs.items()
        }
        return cache_key(node.step.code_hash, hashes, node.params, node.step.n_outputs)

    def start(self, name: str) -> None:
        """Finish ``name`` from the cache, or queue its first attempt."""
        node = self.plan.nodes[name]
        inputs = self.inputs_of(name)
        key = self.key_of(name, inputs)
        stored_inputs = {a: _strip_values(s) for a, s in inputs.items()}
        self.keys[name] = key
        cache = self.cache and node.step.options.cache
        if cache and self.from_cache(name, inputs, stored_inputs):
            return
        refused = self.notes.get(name, "").removeprefix("cache: ").strip()  # see from_cache
        why = f"re-ran: {refused}" if refused else self.previous.explain(
            self.run_id, name, key, stored_inputs, node.params, cache=cache,
            parts=node.step.code_parts, fn=node.step.fn,
        )  # fmt: skip
        self.notes[name] = f"{why}\n"
        names = node.step.output_names() if node.step.n_outputs is not None else [None]
        self.pending_tasks[name] = StepTask(
            node=name,
            step_run_id=self.ids[name],
            step_ref=node.step.ref,
            inputs=inputs,
            params=node.params,
            settings=self.settings,
            dataset_names=[_dataset_name(self.pipeline.name, name, o) for o in names],
            n_outputs=node.step.n_outputs,
            timeout=node.step.options.timeout,
            trusted_pickle=self.trusts_pickle(name),
            trusted_inputs=frozenset(
                r["hash"] for r in _flat_refs(inputs) if r.get("hash") in self.trusted
            ),
            resources=node.step.options.resources,
            fn=node.step.fn,
            contracts=node.step.contracts(),
        )
        self.recorded[name] = {
            "cache_key": key,
            "inputs": stored_inputs,
            "params": node.params,
            "code_parts": node.step.code_parts,
        }

    def from_cache(self, name: str, inputs: dict[str, Any], stored_inputs: dict[str, Any]) -> bool:
        """Settle ``name`` from an earlier step run with its cache key: reuse its outputs
        (True), or fail the step when their references were changed (True); False when
        there is nothing this run can reuse (the step runs)."""
        key, params = self.keys[name], self.plan.nodes[name].params
        hit = self.store.find_cached_step_run(key, project=self.settings.project)
        if hit is None or hit.cache_key != key:
            return False
        reuse = self.reuse(name, hit.outputs, key)
        if reuse.broken:
            error = (
                f"step {name!r}: refusing to reuse cached step run {hit.id}: {reuse.reason}; "
                f"nothing was loaded. Find out who changed step run {hit.id}, then run with "
                "cache=False (--no-cache) to compute the step again"
            )
            self.fail(name, error, cache_key=key, inputs=stored_inputs, params=params)
            return True
        if not reuse.ok:
            self.notes[name] = f"cache: step run {hit.id} not reused: {reuse.reason}\n"
            return False
        self.trusted.update(reuse.vouched)
        now = now_ms()
        self.store.update_step_run(
            self.ids[name],
            status=StepStatus.FINISHED,
            cache_key=key,
            cache_hit=True,
            start_time=now,
            end_time=now,
            inputs=stored_inputs,
            params=params,
            outputs=hit.outputs,
            code_parts=self.plan.nodes[name].step.code_parts,
            logs=cached(hit),
            lineage=self.edges(name, inputs, hit.outputs, produced=False),
        )
        self._finished(name, hit.outputs, cache_hit=True, duration=0)
        return True

    def submit(self, name: str) -> StepOutcome | None:
        task = self.pending_tasks[name]
        self.attempts[name] += 1
        task.attempt = self.attempts[name]
        self.state[name] = StepStatus.RUNNING
        self.store.update_step_run(
            self.ids[name],
            status=StepStatus.RUNNING,
            start_time=now_ms(),
            attempts=task.attempt,
            **self.recorded.pop(name, {}),
        )
        self.event(name, StepStatus.RUNNING, attempt=task.attempt)
        try:
            self.executor.submit(task)
        except ShipyardError as exc:  # e.g. a step another process cannot import
            return StepOutcome(name, task.attempt, ok=False, error=exc.message, retryable=False)
        return None

    def _finished(
        self, name: str, outputs: list[dict[str, Any]], *, cache_hit: bool, duration: int
    ) -> None:
        self.state[name] = StepStatus.FINISHED
        self.outputs[name] = outputs
        self.event(name, StepStatus.FINISHED, cache_hit=cache_hit, duration_ms=duration)

    def outcome(self, outcome: StepOutcome) -> None:
        name = outcome.node
        task = self.pending_tasks[name]
        options = self.plan.nodes[name].step.options
        logs = self.notes.get(name, "") + outcome.logs
        if outcome.ok:
            del self.pending_tasks[name]
            outputs = self.produced(name, outcome.outputs)
            self.store.update_step_run(
                self.ids[name],
                status=StepStatus.FINISHED,
                end_time=outcome.end_time or now_ms(),
                outputs=outputs,
                logs=logs,
                error="",
                lineage=self.edges(name, task.inputs, outputs, produced=True),
            )
            duration = (outcome.end_time or 0) - (outcome.start_time or 0)
            self._finished(name, outputs, cache_hit=False, duration=duration)
            return
        if outcome.retryable and self.attempts[name] <= options.retries:
            delay = options.retry_delay * options.backoff ** (self.attempts[name] - 1)
            heapq.heappush(self.retry_heap, (time.monotonic() + delay, name))
            self.state[name] = StepStatus.PENDING
            self.store.update_step_run(
                self.ids[name], status=StepStatus.PENDING, logs=logs, error=outcome.error
            )
            self.event(name, "RETRYING", attempt=self.attempts[name], delay=delay)
            return
        del self.pending_tasks[name]
        # what the failed step consumed stays in lineage (a contract failure names its data)
        consumed = self.edges(name, task.inputs, [], produced=False)
        self.fail(
            name, outcome.error, end_time=outcome.end_time or now_ms(), logs=logs, lineage=consumed
        )

    def fail(self, name: str, error: str, **record: Any) -> None:
        """Step ``name`` failed for good: record it (with ``record``'s fields) and skip
        everything downstream."""
        self.state[name] = StepStatus.FAILED
        record.setdefault("end_time", now_ms())
        self.store.update_step_run(self.ids[name], status=StepStatus.FAILED, error=error, **record)
        self.event(name, StepStatus.FAILED, error=error.strip().splitlines()[-1:])
        self.skip(self.plan.downstream(name), f"upstream step {name!r} failed")

    def skip(self, names: list[str], reason: str) -> None:
        targets = [n for n in names if self.state[n] == StepStatus.PENDING]
        for n in targets:
            self.state[n] = StepStatus.SKIPPED
            self.pending_tasks.pop(n, None)
            self.event(n, StepStatus.SKIPPED, reason=reason)
        if targets:
            self.store.update_step_runs(
                {self.ids[n]: {"status": StepStatus.SKIPPED, "error": reason} for n in targets}
            )

    # ------------------------------------------------------------------ loop

    def loop(self) -> None:
        while True:
            now = time.monotonic()
            while self.retry_heap and self.retry_heap[0][0] <= now:
                heapq.heappop(self.retry_heap)
            for name in self.ready():
                self.start(name)
            waiting = {n for _, n in self.retry_heap}
            for name in list(self.pending_tasks):
                if self.executor.free_slots() <= 0:
                    break
                if self.state[name] == StepStatus.PENDING and name not in waiting:
                    failed = self.submit(name)
                    if failed is not None:
                        self.outcome(failed)
            running = any(s == StepStatus.RUNNING for s in self.state.values())
            if not running and not self.retry_heap:
                if not self.pending_tasks and not self.ready():
                    return
                continue
            timeout = None
            if self.retry_heap:
                timeout = max(0.0, self.retry_heap[0][0] - time.monotonic())
            if not running:
                time.sleep(timeout or 0)
                continue
            for outcome in self.executor.wait(timeout):
                self.outcome(outcome)


def _strip_values(spec: Any) -> Any:
    """An input as recorded on the step run (inline JSON values left out)."""
    if isinstance(spec, list):
        return [_strip_values(s) for s in spec]
    return {k: v for k, v in spec.items() if k not in ("value", "items")}


def _client_store() -> tuple[Store, Settings]:
    from shipyard.tracking import get_client

    client = get_client()
    return client.store, client.settings


def execute(
    pipeline: Pipeline,
    plan: Plan,
    *,
    executor: str | Executor,
    cache: bool,
    raise_on_failure: bool,
    on_event: EventHook | None,
    resumed_from: PipelineRun | None = None,
    queued_run_id: str | None = None,
) -> PipelineRunResult:
    """Record and run a built plan.

    Args:
        pipeline: The pipeline the plan was built from.
        plan: Its built plan (``pipeline.build(**params)``).
        executor: ``"inline"``, ``"process"``, ``"ray"`` or an Executor.
        cache: Reuse the outputs of earlier identical step runs.
        raise_on_failure: Raise PipelineFailed when a step fails; False returns the run.
        on_event: Called as ``on_event(step, status, info)`` when a step changes state.
        resumed_from: A previous run whose finished steps are reused, not run again.
        queued_run_id: A run the scheduler recorded as QUEUED, to start instead of
            recording a new run.

    Returns:
        The finished run with its step runs (by step name).

    Raises:
        PipelineFailed: A step failed, unless ``raise_on_failure`` is False.
    """
    store, settings = _client_store()
    runner = make_executor(executor)
    state = _Run(pipeline, plan, store, settings, runner, cache, on_event)
    store.register_pipeline(
        pipeline.name, pipeline.ref, pipeline.description, project=settings.project
    )
    steps = [
        StepRun("", "", name, plan.nodes[name].step.ref, StepStatus.PENDING) for name in plan.order
    ]
    started = now_ms()
    if queued_run_id is not None:
        store.update_pipeline_run(
            queued_run_id,
            status=PipelineRunStatus.RUNNING,
            start_time=started,
            dag=plan.dag(),
            executor=runner.name,
        )
        run_id, ids = queued_run_id, store.add_step_runs(queued_run_id, steps)
    else:
        record = PipelineRun(
            id="",
            pipeline=pipeline.name,
            ref=pipeline.ref,
            status=PipelineRunStatus.RUNNING,
            params=plan.params,
            executor=runner.name,
            dag=plan.dag(),
            created_at=started,
            start_time=started,
            resumed_from=resumed_from.id if resumed_from else None,
        )
        stored, ids = store.create_pipeline_run(record, steps, project=settings.project)
        run_id = stored.id
    state.run_id = run_id
    state.ids = dict(zip(plan.order, ids, strict=True))
    if resumed_from is not None:
        _carry_over(state, resumed_from)
    status, error = PipelineRunStatus.FINISHED, ""
    try:
        state.loop()
    except KeyboardInterrupt:
        status, error = PipelineRunStatus.KILLED, "interrupted"
        running = [
            n for n, s in state.state.items() if s in (StepStatus.RUNNING, StepStatus.PENDING)
        ]
        store.update_step_runs(
            {state.ids[n]: {"status": StepStatus.FAILED, "error": "interrupted"} for n in running}
        )
        raise
    except BaseException as exc:
        status, error = PipelineRunStatus.FAILED, f"{type(exc).__name__}: {exc}"
        raise
    finally:
        runner.close()
        failed = [n for n, s in state.state.items() if s == StepStatus.FAILED]
        if status == PipelineRunStatus.FINISHED and failed:
            status, error = PipelineRunStatus.FAILED, f"step(s) failed: {', '.join(failed)}"
        store.update_pipeline_run(run_id, status=status, end_time=now_ms(), error=error)
    result = PipelineRunResult(
        store.get_pipeline_run(run_id),
        {s.name: s for s in store.list_step_runs(run_id)},
        store,
        frozenset(state.trusted),
    )
    if raise_on_failure and not result.ok:
        details = "; ".join(
            f"{n}: {(result.steps[n].error.strip().splitlines() or ['?'])[-1]}" for n in failed
        )
        raise PipelineFailed(
            f"pipeline {pipeline.name!r} run {run_id[:12]} failed ({details}); see "
            f"`shipyard pipelines show {run_id[:12]}`, fix it and `shipyard pipelines resume "
            f"{run_id[:12]}`",
            run_id=run_id,
        )
    return result


def _carry_over(state: _Run, previous: PipelineRun) -> None:
    """Steps that finished in ``previous`` are reused (not run again) when this run computes
    the same cache key for them (same code, inputs and params) and can vouch for their
    outputs; the others go through the cache like any step."""
    done = {
        s.name: s
        for s in state.store.list_step_runs(previous.id)
        if s.status == StepStatus.FINISHED
    }
    now = now_ms()
    updates = {}
    for name in state.plan.order:  # upstream steps first
        old = done.get(name)
        upstream_reused = all(up in done for up in state.plan.nodes[name].upstream)
        key = state.key_of(name, state.inputs_of(name)) if upstream_reused else ""
        reuse = None if old is None else state.reuse(name, old.outputs, key)
        if old is None or old.cache_key != key or reuse is None or not reuse.ok:
            done.pop(name, None)
            continue
        state.trusted.update(reuse.vouched)
        updates[state.ids[name]] = {
            "status": StepStatus.FINISHED,
            "cache_key": old.cache_key,
            "cache_hit": True,
            "start_time": now,
            "end_time": now,
            "inputs": old.inputs,
            "params": old.params,
            "outputs": old.outputs,
            "code_parts": old.code_parts,
            "logs": f"reused from step run {old.id} of pipeline run {previous.id}",
        }
        state.state[name] = StepStatus.FINISHED
        state.outputs[name] = old.outputs
    if updates:
        state.store.update_step_runs(updates)
        reused = [n for n in state.plan.order if n in done]
        edges = [
            edge
            for name in reused
            for edge in state.edges(name, state.inputs_of(name), state.outputs[name], False)
        ]
        state.store.add_lineage_edges(edges)
        for name in reused:
            state.event(name, StepStatus.FINISHED, cache_hit=True, duration_ms=0)


def run_pipeline(
    pipeline: Pipeline,
    params: dict[str, Any],
    *,
    executor: str | Executor = "inline",
    cache: bool = True,
    raise_on_failure: bool = True,
    on_event: EventHook | None = None,
    queued_run_id: str | None = None,
) -> PipelineRunResult:
    """Build and run ``pipeline`` with ``params``."""
    plan = pipeline.build(**params)
    return execute(
        pipeline,
        plan,
        executor=executor,
        cache=cache,
        raise_on_failure=raise_on_failure,
        on_event=on_event,
        queued_run_id=queued_run_id,
    )


def resume_run(
    run_id: str,
    *,
    pipeline: Pipeline | None = None,
    executor: str | Executor = "inline",
    raise_on_failure: bool = True,
    on_event: EventHook | None = None,
) -> PipelineRunResult:
    """A new run of ``run_id``'s pipeline with the same params, reusing its finished steps."""
    store, _settings = _client_store()
    previous = store.get_pipeline_run(run_id)
    target = pipeline or load_pipeline(previous.ref)
    plan = target.build(**previous.params)
    return execute(
        target,
        plan,
        executor=executor,
        cache=True,
        raise_on_failure=raise_on_failure,
        on_event=on_event,
        resumed_from=previous,
    )


def get_run(run_id: str) -> PipelineRunResult:
    """A pipeline run (by id or unique prefix) with its step runs; its ``output()`` loads
    pickles only where the step run carries this home's seal."""
    store, settings = _client_store()
    run = store.get_pipeline_run(run_id)
    steps = {s.name: s for s in store.list_step_runs(run.id)}
    trusted = vouched_outputs(Sealer.open(settings, run.pipeline), steps.values())
    return PipelineRunResult(run, steps, store, trusted)


def list_runs(pipeline: str | None = None, limit: int = 50) -> list[PipelineRun]:
    """Pipeline runs, newest first (of one pipeline when ``pipeline`` is given)."""
    store, _settings = _client_store()
    return store.list_pipeline_runs(pipeline=pipeline, limit=limit)


__all__ = ["PipelineRunResult", "execute", "get_run", "list_runs", "resume_run", "run_pipeline"]
