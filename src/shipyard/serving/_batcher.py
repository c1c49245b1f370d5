"""Adaptive micro-batching: concurrent requests coalesced into one model call.

Requests queue on the event loop; one collector takes everything queued (up to
``max_batch_size`` rows), stacks it, and runs the model in a worker thread, so a slow
prediction never blocks I/O. While the model runs, new requests queue up and form the next
batch: under load, batches grow by themselves; a lone request is run at once. Only when the
previous batch held several requests does the collector wait up to ``max_wait`` for more.
If a batch's model call fails, its requests are retried one by one, so only the request
that breaks the model fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from shipyard.serving._inputs import rows_of

#: Called after each model call with (requests, rows, seconds).
BatchObserver = Callable[[int, int, float], None]


class BatcherClosed(RuntimeError):
    """A request reached a batcher after ``close()`` (a retired version): route it again."""


@dataclass
class _Item:
    data: Any
    rows: int
    future: asyncio.Future[Any]


class Batcher:
    """Queue model inputs; each ``await submit(data)`` returns that input's predictions."""

    def __init__(
        self,
        predict: Callable[[Any], Any],
        *,
        max_batch_size: int = 64,
        max_wait: float = 0.002,
        observe: BatchObserver | None = None,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self._predict = predict
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait
        self._observe = observe
        self._executor = executor or ThreadPoolExecutor(1, thread_name_prefix="shipyard-model")
        self._queue: asyncio.Queue[_Item] | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending = 0
        self._last_requests = 1
        self._idle: asyncio.Event | None = None  # set while nothing is pending (drain waits)
        self.closed = False

    @property
    def depth(self) -> int:
        """Requests submitted and not yet answered."""
        return self._pending

    def start(self) -> None:
        """Start the collector on the running event loop (its queue and events live there)."""
        if self.closed:
            raise BatcherClosed("this model version is retired; route the request again")
        if self._task is None:
            self._queue = asyncio.Queue()
            self._idle = asyncio.Event()
            self._idle.set()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def submit(self, data: Any) -> Any:
        """Predictions for ``data`` (computed in a batch with whatever else is queued).

        BatcherClosed if the batcher was closed: the request never reached the model.
        """
        self.start()
        assert self._queue is not None and self._idle is not None
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending += 1
        self._idle.clear()
        try:
            self._queue.put_nowait(_Item(data, rows_of(data), future))
            return await future
        finally:
            self._pending -= 1
            if not self._pending:
                self._idle.set()

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every submitted request is answered, then stop the collector."""
        if self._idle is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout)
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        loop = asyncio.get_running_loop()
        while True:
            first = await queue.get()
            batch = [first]
            rows = self._take(batch, first.rows)
            if self.max_wait > 0 and self._last_requests > 1 and rows < self.max_batch_size:
                deadline = loop.time() + self.max_wait
                while rows < self.max_batch_size:
                    left = deadline - loop.time()
                    if left <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(queue.get(), left)
                    except TimeoutError:
                        break
                    batch.append(item)
                    rows = self._take(batch, rows + item.rows)
            self._last_requests = len(batch)
            await self._call(loop, batch, rows)

    def _take(self, batch: list[_Item], rows: int) -> int:
        """Add queued items to ``batch`` while they fit; the row count after."""
        assert self._queue is not None
        while rows < self.max_batch_size and not self._queue.empty():
            item = self._queue.get_nowait()
            batch.append(item)
            rows += item.rows
        return rows

    async def _call(self, loop: asyncio.AbstractEventLoop, batch: list[_Item], rows: int) -> None:
        live = [i for i in batch if not i.future.done()]
        if not live:
            return
        started = time.perf_counter()
        try:
            if len(live) == 1:
                outputs = [await loop.run_in_executor(self._executor, self._predict, live[0].data)]
            else:
                outputs = await loop.run_in_executor(self._executor, self._batched, live)
        except Exception as exc:
            if len(live) == 1:
                _settle(live[0].future, error=exc)
            else:
                for item in live:  # find the request that breaks the model; answer the rest
                    try:
                        result = await loop.run_in_executor(
                            self._executor, self._predict, item.data
                        )
                        _settle(item.future, result=result)
                    except Exception as one:
                        _settle(item.future, error=one)
            return
        finally:
            if self._observe is not None:
                self._observe(len(live), rows, time.perf_counter() - started)
        for item, result in zip(live, outputs, strict=True):
            _settle(item.future, result=result)

    def _batched(self, items: list[_Item]) -> list[Any]:
        stacked = stack([i.data for i in items])
        result = self._predict(stacked)
        return split(result, [i.rows for i in items])

    def close(self) -> None:
        """Release the worker thread (after ``drain``); later submits raise BatcherClosed."""
        self.closed = True
        self._executor.shutdown(wait=False)


def _settle(future: asyncio.Future[Any], *, result: Any = None, error: Any = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def stack(parts: list[Any]) -> Any:
    """One model input from several (arrays concatenated; frames with one numeric block
    stacked as arrays, others through ``pd.concat``)."""
    first = parts[0]
    if isinstance(first, np.ndarray):
        return np.concatenate(parts)
    columns = list(first.columns)
    dtypes = first.dtypes
    uniform = all(isinstance(d, np.dtype) for d in dtypes) and len(set(dtypes)) == 1
    same = uniform and all(
        list(p.columns) == columns and p.dtypes.iloc[0] == dtypes.iloc[0] for p in parts
    )
    if same:
        block = np.concatenate([p.to_numpy() for p in parts])
        return pd.DataFrame(block, columns=first.columns, copy=False)
    return pd.concat(parts, ignore_index=True)


def split(result: Any, sizes: list[int]) -> list[Any]:
    """Per-request slices of a batch's predictions."""
    out = []
    start = 0
    for size in sizes:
        out.append(result[start : start + size])
        start += size
    return out
