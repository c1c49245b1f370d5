"""The state of one pipeline run while the engine works on it, and its transitions.

Each step whose upstream steps finished gets its cache key (step code + input content
hashes + params); a cache hit reuses the earlier outputs without running anything, a miss
goes to the executor. A failed attempt is retried after ``retry_delay * backoff **
(attempt - 1)`` seconds while other steps go on; a step that fails for good marks
everything downstream SKIPPED, and independent branches still finish.

What the run records about its step runs goes through :class:`StepRecords`, written in one
transaction each time the loop is about to wait (see ``_records``): with the inline
executor before the next step's code starts, with an executor that runs steps in other
processes while the next step starts there.
"""

from __future__ import annotations

import heapq
import re
import time
from collections.abc import Callable
from typing import Any

from shipyard.client import Store, now_ms
from shipyard.config import Settings
from shipyard.entities import LineageEdge, LineageNode, StepStatus
from shipyard.errors import ShipyardError
from shipyard.pipelines._cache_reasons import PreviousRun, cached
from shipyard.pipelines._executors import Executor
from shipyard.pipelines._hashing import cache_key
from shipyard.pipelines._pipeline import Pipeline, Plan
from shipyard.pipelines._records import StepRecords
from shipyard.pipelines._task import StepOutcome, StepTask
from shipyard.pipelines._trust import Reuse, Sealer, check_reuse

EventHook = Callable[[str, str, dict[str, Any]], None]
_DATASET_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")


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


class RunState:
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
        # the steps ready() still has to look at (each is dropped once it starts)
        self.unstarted = dict.fromkeys(plan.order)
        # each step's upstream steps, computed once: ready() asks after every transition
        self.upstream = {name: node.upstream for name, node in plan.nodes.items()}
        # an upstream step each unstarted step was last found waiting for
        self.blocked: dict[str, str] = {}
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
        self.records = StepRecords(store)  # step-run changes not written yet
        # An executor whose submit() starts the step in another process (process pool, Ray)
        # gets it before the records are written: they are written while the step starts
        # there (still before the loop waits for anything), so the write overlaps the step
        # instead of adding to it. The inline executor runs the step in wait(), after.
        self.remote = bool(getattr(executor, "starts_on_submit", False))

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
        """The steps not started yet whose upstream steps all finished, in plan order."""
        state, blocked, found = self.state, self.blocked, []
        finished = StepStatus.FINISHED
        for n in list(self.unstarted):
            if state[n] != StepStatus.PENDING or n in self.pending_tasks:
                del self.unstarted[n]  # started, skipped or carried over: for good
                continue
            blocker = blocked.get(n)
            if blocker is not None and state[blocker] != finished:
                continue  # still waiting for the same step: one look instead of all
            blocker = next((u for u in self.upstream[n] if state[u] != finished), None)
            if blocker is None:
                found.append(n)
            else:
                blocked[n] = blocker
        return found

    def running(self) -> bool:
        """Whether an attempt is with the executor (only queued steps can be)."""
        return any(self.state[n] == StepStatus.RUNNING for n in self.pending_tasks)

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
        self.records.update(
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

    def mark_running(self, name: str) -> None:
        """Start the next attempt of ``name``: recorded RUNNING (written before the executor
        gets it, see :meth:`loop`)."""
        task = self.pending_tasks[name]
        self.attempts[name] += 1
        task.attempt = self.attempts[name]
        self.state[name] = StepStatus.RUNNING
        self.records.update(
            self.ids[name],
            status=StepStatus.RUNNING,
            start_time=now_ms(),
            attempts=task.attempt,
            **self.recorded.pop(name, {}),
        )
        self.event(name, StepStatus.RUNNING, attempt=task.attempt)

    def submit(self, name: str) -> StepOutcome | None:
        """Hand the attempt of ``name`` to the executor (None), or its failure to start."""
        task = self.pending_tasks[name]
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
            self.records.update(
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
            self.records.update(
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
        self.records.update(self.ids[name], status=StepStatus.FAILED, error=error, **record)
        self.event(name, StepStatus.FAILED, error=error.strip().splitlines()[-1:])
        self.skip(self.plan.downstream(name), f"upstream step {name!r} failed")

    def skip(self, names: list[str], reason: str) -> None:
        targets = [n for n in names if self.state[n] == StepStatus.PENDING]
        for n in targets:
            self.state[n] = StepStatus.SKIPPED
            self.pending_tasks.pop(n, None)
            self.event(n, StepStatus.SKIPPED, reason=reason)
        for n in targets:
            self.records.update(self.ids[n], status=StepStatus.SKIPPED, error=reason)

    # ------------------------------------------------------------------ loop

    def loop(self) -> None:
        while True:
            now = time.monotonic()
            while self.retry_heap and self.retry_heap[0][0] <= now:
                heapq.heappop(self.retry_heap)
            for name in self.ready():
                self.start(name)
            waiting = {n for _, n in self.retry_heap}
            slots = self.executor.free_slots()
            starting = [
                name
                for name in self.pending_tasks
                if self.state[name] == StepStatus.PENDING and name not in waiting
            ][: max(0, slots)]
            for name in starting:
                self.mark_running(name)
            if starting and not self.remote:
                self.records.flush()  # recorded RUNNING before the step's code starts
            for name in starting:
                failed = self.submit(name)
                if failed is not None:
                    self.outcome(failed)
            running = self.running()
            if not running and not self.retry_heap:
                if not self.pending_tasks and not self.ready():
                    return
                continue
            timeout = None
            if self.retry_heap:
                timeout = max(0.0, self.retry_heap[0][0] - time.monotonic())
            self.records.flush()  # what finished is recorded before the loop waits
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
