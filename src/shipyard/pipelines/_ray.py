"""The Ray executor: each step attempt is a Ray task (``pip install 'shipyard[ray]'``).

Without an address a local Ray instance is started (or the one already running in this
process is used); with one (``ray://head:10001`` or ``head:6379``, or ``RAY_ADDRESS``) the
cluster must answer within a few seconds, else a clear error says so instead of Ray's long
retry loop. Workers import the step's module, so it must be installed (or shipped with a
``runtime_env``) where they run, and they must reach the same metadata store and blob store
(PostgreSQL and S3 for a real cluster). A step's ``resources`` (``cpu``, ``gpu``,
``memory``) become the task's Ray resource request; its ``timeout`` counts from submission,
and a task past it is cancelled with its worker process killed.

A task goes to its worker, and its outcome comes back, pickled here as bytes: both are plain
data (see ``_task``), which the standard pickler writes several times faster than the
cloudpickle Ray applies to any other object, and bytes cross Ray without it.
"""

from __future__ import annotations

import pickle
import re
import time
from typing import Any

from shipyard._ray import check_reachable, connect
from shipyard.client import now_ms
from shipyard.errors import InvalidArgument
from shipyard.pipelines._task import StepOutcome, StepTask, execute_task, resolve_function

__all__ = ["RayExecutor", "check_reachable", "memory_bytes"]

_UNITS = {"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]I?B|B)?\s*$", re.IGNORECASE)


def _run_on_ray(task: bytes) -> bytes:
    """The Ray task body: one attempt of one step (the task and its outcome pickled)."""
    return pickle.dumps(execute_task(pickle.loads(task)), protocol=pickle.HIGHEST_PROTOCOL)


def _pickled(task: StepTask) -> bytes:
    """``task`` for another process, pickled. A param the standard pickler cannot write (a
    lambda, a class defined in ``__main__``) is written by Ray's cloudpickle, as Ray itself
    would have: the worker's ``pickle.loads`` reads either."""
    portable = task.portable()
    try:
        return pickle.dumps(portable, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        from ray import cloudpickle

        written: bytes = cloudpickle.dumps(  # type: ignore[no-untyped-call]
            portable, protocol=pickle.HIGHEST_PROTOCOL
        )
        return written


#: The Ray task of ``_run_on_ray`` per Ray session (its job id): made once, so each run's
#: executor does not export the function to the cluster again.
_remotes: dict[Any, Any] = {}


def _remote_for(ray: Any) -> Any:
    """``_run_on_ray`` as a Ray task of the session ``ray`` is connected to."""
    session = ray.get_runtime_context().get_job_id()
    remote = _remotes.get(session)
    if remote is None:
        _remotes.clear()  # a new session: the old one's task is gone with it
        remote = _remotes[session] = ray.remote(max_retries=0)(_run_on_ray)
    return remote


def _task_options(resources: dict[str, Any]) -> dict[str, Any]:
    """The Ray options of a step's ``resources`` (empty: one CPU, Ray's default)."""
    options: dict[str, Any] = {}
    cpu = float(resources.get("cpu", 1))
    if cpu != 1:
        options["num_cpus"] = cpu
    if resources.get("gpu"):
        options["num_gpus"] = float(resources["gpu"])
    if resources.get("memory"):
        options["memory"] = memory_bytes(resources["memory"])
    return options


def memory_bytes(value: Any) -> int:
    """``4GB``, ``512MiB`` or a number of bytes, as bytes."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return int(value)
    match = _MEMORY.match(str(value))
    if match is None:
        raise InvalidArgument(
            f"memory {value!r} is not a size; use bytes or e.g. '512MB', '4GB'",
            field="resources",
        )
    return int(float(match[1]) * _UNITS[(match[2] or "").upper()])


class RayExecutor:
    """Runs steps as Ray tasks, as many at once as ``max_parallel`` (default: the cluster's
    CPUs)."""

    name = "ray"
    #: submit() starts the step on a Ray worker (the engine writes its records meanwhile).
    starts_on_submit = True

    def __init__(
        self,
        address: str | None = None,
        *,
        max_parallel: int | None = None,
        connect_timeout: float = 5.0,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        ray = connect(
            "the Ray executor",
            address,
            connect_timeout=connect_timeout,
            init_kwargs=init_kwargs,
        )
        self._ray = ray
        self._remote = _remote_for(ray)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self._max = max_parallel or max(1, cpus)
        self._running: dict[Any, tuple[StepTask, float | None, int]] = {}

    def free_slots(self) -> int:
        return self._max - len(self._running)

    def submit(self, task: StepTask) -> None:
        resolve_function(task.step_ref)
        options = _task_options(task.resources)
        remote = self._remote.options(**options) if options else self._remote
        ref = remote.remote(_pickled(task))
        deadline = time.monotonic() + task.timeout if task.timeout else None
        self._running[ref] = (task, deadline, now_ms())

    def _failed(self, task: StepTask, started: int, error: str) -> StepOutcome:
        return StepOutcome(
            task.node, task.attempt, ok=False, error=error, start_time=started, end_time=now_ms()
        )

    def wait(self, timeout: float | None) -> list[StepOutcome]:
        if not self._running:
            if timeout:
                time.sleep(timeout)
            return []
        now = time.monotonic()
        limits = [d - now for _, d, _ in self._running.values() if d is not None]
        if timeout is not None:
            limits.append(timeout)
        limit = max(0.0, min(limits)) if limits else None
        outcomes = self._get_only(limit) if len(self._running) == 1 else self._collect_ready(limit)
        now = time.monotonic()
        for ref, (task, deadline, started) in list(self._running.items()):
            if deadline is not None and now >= deadline:
                self._ray.cancel(ref, force=True)
                del self._running[ref]
                outcomes.append(
                    self._failed(
                        task,
                        started,
                        f"TimeoutError: step {task.node!r} timed out after {task.timeout:g}s; "
                        "its Ray task was cancelled and its worker stopped",
                    )
                )
        return outcomes

    def _get_only(self, limit: float | None) -> list[StepOutcome]:
        """The outcome of the one running task, waited for by ``ray.get`` alone (a chain's
        every step: ``ray.wait`` then ``ray.get`` is two calls into Ray); none when it is
        not done within ``limit`` seconds."""
        from ray.exceptions import GetTimeoutError

        ref, (task, _deadline, started) = next(iter(self._running.items()))
        try:
            outcome = self._outcome(ref, task, started, limit)
        except GetTimeoutError:
            return []
        del self._running[ref]
        return [outcome]

    def _collect_ready(self, limit: float | None) -> list[StepOutcome]:
        """The outcomes of every task done once one is (or none after ``limit`` seconds)."""
        ready, _ = self._ray.wait(list(self._running), num_returns=1, timeout=limit)
        if ready:  # collect everything else that is done too
            ready, _ = self._ray.wait(
                list(self._running), num_returns=len(self._running), timeout=0
            )
        outcomes = []
        for ref in ready:
            task, _deadline, started = self._running.pop(ref)
            outcomes.append(self._outcome(ref, task, started))
        return outcomes

    def _outcome(
        self, ref: Any, task: StepTask, started: int, limit: float | None = None
    ) -> StepOutcome:
        """What the task of ``ref`` returned (waited for up to ``limit`` seconds: Ray's
        GetTimeoutError when it is not done), or its failure when the worker crashed or the
        task could not run."""
        from ray.exceptions import GetTimeoutError

        try:
            outcome: StepOutcome = pickle.loads(self._ray.get(ref, timeout=limit))
        except GetTimeoutError:
            raise
        except Exception as exc:
            return self._failed(task, started, f"the Ray task failed: {exc}")
        return outcome

    def close(self) -> None:
        """Cancel tasks still running (Ray itself stays up for the next run)."""
        for ref in list(self._running):
            self._ray.cancel(ref, force=True)
        self._running.clear()
