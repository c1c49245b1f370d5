"""Running a pipeline: recording the run, driving its steps, resuming and reading runs.

The engine runs in the calling process. It records the pipeline run and a PENDING step run
per node up front (one transaction), then lets :class:`~._run_state.RunState` drive the
steps (caching, submitting ready steps, retries, failures and lineage; its step-run records
are written in batches, see ``_records``) and records how the run ended. The result is
built from what the run wrote, not read back from the store.

The engine also decides which outputs may run code when loaded (pickles, custom models; see
``_trust``): it vouches for what its own executor returned and for sealed outputs of the
step runs it reuses, seals what its steps produce, and hands each task the hashes it may
load. A reused step run whose references were changed fails the step; nothing is loaded.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from shipyard.client import Store, now_ms
from shipyard.config import Settings
from shipyard.entities import PipelineRun, PipelineRunStatus, StepRun, StepStatus
from shipyard.errors import PipelineFailed
from shipyard.pipelines._executors import Executor, make_executor
from shipyard.pipelines._pipeline import Pipeline, Plan, load_pipeline
from shipyard.pipelines._result import PipelineRunResult
from shipyard.pipelines._run_state import EventHook, RunState
from shipyard.pipelines._trust import Sealer, vouched_outputs


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
    state = RunState(pipeline, plan, store, settings, runner, cache, on_event)
    store.register_pipeline(
        pipeline.name, pipeline.ref, pipeline.description, project=settings.project
    )
    steps = [
        StepRun("", "", name, plan.nodes[name].step.ref, StepStatus.PENDING) for name in plan.order
    ]
    started = now_ms()
    stored: PipelineRun | None = None  # the run's record as created here
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
    state.records.created(
        replace(s, id=i, pipeline_run_id=run_id) for s, i in zip(steps, ids, strict=True)
    )
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
        for n in running:
            state.records.update(state.ids[n], status=StepStatus.FAILED, error="interrupted")
        raise
    except BaseException as exc:
        status, error = PipelineRunStatus.FAILED, f"{type(exc).__name__}: {exc}"
        raise
    finally:
        runner.close()
        failed = [n for n, s in state.state.items() if s == StepStatus.FAILED]
        if status == PipelineRunStatus.FINISHED and failed:
            status, error = PipelineRunStatus.FAILED, f"step(s) failed: {', '.join(failed)}"
        state.records.flush()
        ended = now_ms()
        store.update_pipeline_run(run_id, status=status, end_time=ended, error=error)
    # the result from what this run wrote, not read back (a queued run's record was not
    # created here: that one is read)
    record = (
        store.get_pipeline_run(run_id)
        if stored is None
        else replace(stored, status=status, end_time=ended, error=error)
    )
    result = PipelineRunResult(
        record,
        {s.name: s for s in state.records.step_runs()},
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


def _carry_over(state: RunState, previous: PipelineRun) -> None:
    """Steps that finished in ``previous`` are reused (not run again) when this run computes
    the same cache key for them (same code, inputs and params) and can vouch for their
    outputs; the others go through the cache like any step."""
    done = {
        s.name: s
        for s in state.store.list_step_runs(previous.id)
        if s.status == StepStatus.FINISHED
    }
    now = now_ms()
    updates: dict[str, dict[str, Any]] = {}
    for name in state.plan.order:  # upstream steps first
        old = done.get(name)
        upstream_reused = all(up in done for up in state.plan.nodes[name].upstream)
        key = state.key_of(name, state.inputs_of(name)) if upstream_reused else ""
        reuse = None if old is None else state.reuse(name, old.outputs, key)
        if old is None or old.cache_key != key or reuse is None or not reuse.ok:
            done.pop(name, None)
            continue
        state.trusted.update(reuse.vouched)
        updates[name] = {
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
    for name in [n for n in state.plan.order if n in done]:
        edges = state.edges(name, state.inputs_of(name), state.outputs[name], False)
        state.records.update(state.ids[name], edges, **updates[name])
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
