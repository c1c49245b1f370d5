"""A small pool of worker processes whose tasks can be stopped.

``concurrent.futures.ProcessPoolExecutor`` cannot stop one running task, so a step timeout
would only stop waiting while the step keeps running. Here every worker is a process with a
pipe of its own: a task past its deadline gets its worker killed (and a fresh worker takes
its place on the next task), a worker that dies is reported as a failed attempt, and idle
workers are reused. Workers are forked from a ``forkserver``: a clean single-threaded
process that imported Shipyard, pandas and PyArrow once, so a worker starts in milliseconds
and is never a fork of a process holding threads and open database connections.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
import types
from multiprocessing.connection import Connection, wait
from typing import Any

from shipyard.client import now_ms
from shipyard.pipelines._task import StepOutcome, StepTask, execute_task

_STOP_GRACE = 2.0
PRELOAD = ["shipyard.pipelines._procpool", "shipyard.data", "pandas", "pyarrow.parquet"]


def _worker_main(conn: Connection) -> None:
    """A worker's loop: run tasks until told to stop (or the parent goes away)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            outcome = execute_task(task, on_start=lambda: conn.send(("started", None)))
            conn.send(("done", outcome))
        except (BrokenPipeError, OSError):
            return


class _Worker:
    def __init__(self, ctx: Any, with_main: bool) -> None:
        parent, child = ctx.Pipe()
        self.conn: Connection = parent
        self.with_main = with_main
        self.process = ctx.Process(target=_worker_main, args=(child,), daemon=True)
        if with_main:
            self.process.start()
        else:
            # A spawned worker re-imports the calling script as its main module, which runs
            # an unguarded script (and its pipeline) again. Steps that live in modules need
            # none of it, so the worker starts with an empty main module instead.
            real = sys.modules["__main__"]
            sys.modules["__main__"] = types.ModuleType("__main__")
            try:
                self.process.start()
            finally:
                sys.modules["__main__"] = real
        child.close()
        self.task: StepTask | None = None
        self.deadline: float | None = None
        self.started = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid  # type: ignore[no-any-return]

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(_STOP_GRACE)
        self.conn.close()


class WorkerPool:
    """Up to ``size`` worker processes; tasks with a ``timeout`` are killed when it passes."""

    def __init__(self, size: int, start_method: str = "forkserver") -> None:
        self.size = max(1, size)
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._ctx.set_forkserver_preload(PRELOAD)
        self._idle: list[_Worker] = []
        self._busy: list[_Worker] = []

    def free_slots(self) -> int:
        return self.size - len(self._busy)

    def busy(self) -> int:
        return len(self._busy)

    def submit(self, task: StepTask) -> None:
        with_main = task.step_ref.startswith("__main__:")
        fitting = [w for w in self._idle if w.with_main == with_main]
        if fitting:
            worker = fitting[0]
            self._idle.remove(worker)
        else:
            worker = _Worker(self._ctx, with_main)
        worker.task = task.portable()
        worker.started = now_ms()
        worker.deadline = None  # set when the worker says the step started
        try:
            worker.conn.send(worker.task)
        except (BrokenPipeError, OSError):  # it died while idle: a fresh one takes the task
            worker.kill()
            worker = _Worker(self._ctx, with_main)
            worker.task, worker.started = task.portable(), now_ms()
            worker.conn.send(worker.task)
        self._busy.append(worker)

    def _failed(self, worker: _Worker, error: str) -> StepOutcome:
        assert worker.task is not None
        return StepOutcome(
            worker.task.node,
            worker.task.attempt,
            ok=False,
            error=error,
            retryable=True,
            start_time=worker.started,
            end_time=now_ms(),
        )

    def wait(self, timeout: float | None) -> list[StepOutcome]:
        """Outcomes of finished, crashed or timed-out tasks (waits up to ``timeout``)."""
        if not self._busy:
            if timeout:
                time.sleep(timeout)
            return []
        now = time.monotonic()
        deadlines = [w.deadline - now for w in self._busy if w.deadline is not None]
        limit = min([timeout, *deadlines] if timeout is not None else deadlines, default=None)
        handles: list[Any] = [w.conn for w in self._busy] + [w.process.sentinel for w in self._busy]
        ready = set(wait(handles, None if limit is None else max(limit, 0)))
        outcomes: list[StepOutcome] = []
        for worker in list(self._busy):
            outcome: StepOutcome | None = None
            if worker.conn in ready:
                try:
                    kind, payload = worker.conn.recv()
                except (EOFError, OSError):
                    kind, payload = "died", None
                if kind == "started":
                    assert worker.task is not None
                    if worker.task.timeout:
                        worker.deadline = time.monotonic() + worker.task.timeout
                    continue
                if kind == "done":
                    outcome = payload
                    self._idle.append(worker)
            if outcome is None and (worker.conn in ready or worker.process.sentinel in ready):
                worker.process.join(_STOP_GRACE)
                code = worker.process.exitcode
                outcome = self._failed(
                    worker, f"the worker process running the step died (exit code {code})"
                )
                worker.kill()
            elif outcome is None and worker.deadline and time.monotonic() >= worker.deadline:
                assert worker.task is not None
                worker.kill()
                outcome = self._failed(
                    worker,
                    f"TimeoutError: step {worker.task.node!r} timed out after "
                    f"{worker.task.timeout:g}s; its process (pid {worker.pid}) was stopped",
                )
            if outcome is not None:
                self._busy.remove(worker)
                outcomes.append(outcome)
        return outcomes

    def close(self) -> None:
        """Stop every worker (running tasks are killed)."""
        for worker in self._busy:
            worker.kill()
        for worker in self._idle:
            with contextlib.suppress(BrokenPipeError, OSError):
                worker.conn.send(None)
        for worker in self._idle:
            worker.process.join(_STOP_GRACE)
            worker.kill()
        self._idle, self._busy = [], []


def cpu_count() -> int:
    return os.cpu_count() or 1
