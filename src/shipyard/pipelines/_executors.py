"""Executors run step attempts; the engine decides what runs when.

An executor is anything with the :class:`Executor` methods, so a Kubernetes-jobs executor
can be added without touching pipeline code. Built in: ``inline`` (in this process, one step
at a time, easiest to debug), ``process`` (a pool of worker processes running independent
steps in parallel) and ``ray`` (see ``_ray.py``).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol, runtime_checkable

from shipyard.errors import InvalidArgument
from shipyard.pipelines._procpool import WorkerPool, cpu_count
from shipyard.pipelines._task import StepOutcome, StepTask, execute_task, resolve_function


@runtime_checkable
class Executor(Protocol):
    """Runs step attempts. The engine calls ``submit`` while ``free_slots() > 0`` and then
    ``wait`` for outcomes; ``wait`` returns an empty list once ``timeout`` passes.

    An executor whose ``submit`` starts the step elsewhere (not in ``wait``) may say so with
    a class attribute ``starts_on_submit = True``: the engine then writes its records while
    the step starts rather than before.
    """

    name: str

    def free_slots(self) -> int: ...
    def submit(self, task: StepTask) -> None: ...
    def wait(self, timeout: float | None) -> list[StepOutcome]: ...
    def close(self) -> None: ...


class InlineExecutor:
    """Runs each step in this process, one at a time; output is echoed to the terminal.

    Returned objects are handed to downstream steps directly (they are stored too). A step
    with a ``timeout`` runs in a worker process of its own, so the timeout can stop it.
    """

    name = "inline"

    def __init__(self, echo: bool = True) -> None:
        self.echo = echo
        self._queue: deque[StepTask] = deque()
        self._memory: dict[str, Any] = {}
        self._pool: WorkerPool | None = None

    def free_slots(self) -> int:
        return 0 if self._queue or (self._pool and self._pool.busy()) else 1

    def submit(self, task: StepTask) -> None:
        if task.timeout is not None:
            resolve_function(task.step_ref)  # fails clearly when another process cannot
            if self._pool is None:
                self._pool = WorkerPool(1)
            self._pool.submit(task)
            return
        self._queue.append(task)

    def wait(self, timeout: float | None) -> list[StepOutcome]:
        if self._pool is not None and self._pool.busy():
            return self._pool.wait(timeout)
        if not self._queue:
            if timeout:
                import time

                time.sleep(timeout)
            return []
        task = self._queue.popleft()
        from shipyard.pipelines._task import store_for

        return [execute_task(task, store_for(task.settings), self._memory, echo=self.echo)]

    def close(self) -> None:
        self._memory.clear()
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class ProcessExecutor:
    """Runs steps in up to ``max_workers`` worker processes (default: one per CPU), so
    independent steps run in parallel. Steps must be importable (defined at module level)."""

    name = "process"
    #: submit() starts the step in a worker process (the engine writes its records meanwhile).
    starts_on_submit = True

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and max_workers < 1:
            raise InvalidArgument("max_workers must be at least 1", field="max_workers")
        self._pool = WorkerPool(max_workers or cpu_count())

    def free_slots(self) -> int:
        return self._pool.free_slots()

    def submit(self, task: StepTask) -> None:
        resolve_function(task.step_ref)
        self._pool.submit(task)

    def wait(self, timeout: float | None) -> list[StepOutcome]:
        return self._pool.wait(timeout)

    def close(self) -> None:
        self._pool.close()


def make_executor(spec: str | Executor, **options: Any) -> Executor:
    """An executor by name (``inline``, ``process``, ``ray``) or the instance given."""
    if not isinstance(spec, str):
        if not isinstance(spec, Executor):
            raise InvalidArgument(
                f"executor must be 'inline', 'process', 'ray' or an Executor, got {spec!r}",
                field="executor",
            )
        return spec
    if spec == "inline":
        return InlineExecutor(**options)
    if spec == "process":
        return ProcessExecutor(**options)
    if spec == "ray":
        from shipyard.pipelines._ray import RayExecutor

        return RayExecutor(**options)
    raise InvalidArgument(
        f"unknown executor {spec!r}; use 'inline', 'process' or 'ray'", field="executor"
    )
