"""Child side of ``bench/pipelines.py``: one tool's measurements in a fresh process.

Usage: ``python _pipelines_child.py TOOL JSON_ARGS`` with TOOL ``shipyard`` or ``prefect``,
run by that tool's interpreter (the project venv, or Prefect's venv). It builds the same two
pipelines with each tool's own API:

* ``chain(n)``: ``n`` trivial steps, each adding one to the previous step's output, with
  caching off: the time of a run, minus a 1-step run's, divided by ``n - 1``, is the
  per-step overhead of orchestration;
* ``cached(10)``: ten such steps with caching on; after a first run, the time of a second,
  fully cached run.

Each tool gets a warm-up run first (Prefect starts its local API server on the first run;
Shipyard creates its database), so neither pays its one-time start-up inside the timings.
Network attempts off this machine are refused and counted (see ``_tracking_child``).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tracking_child import RESULT_MARKER, NetworkGuard

Runner = Callable[[int], Any]


def shipyard_runners(home: str) -> tuple[Runner, Runner]:
    import shipyard
    from shipyard.pipelines import pipeline, step

    shipyard.configure(home=home)

    @step(cache=False)
    def add(x: int) -> int:
        return x + 1

    @step
    def add_cached(x: int) -> int:
        return x + 1

    @pipeline
    def chain(n: int) -> None:
        value: Any = 0
        for _ in range(n):
            value = add(value)

    @pipeline
    def cached(n: int) -> None:
        value: Any = 0
        for _ in range(n):
            value = add_cached(value)

    return (lambda n: chain.run(n=n)), (lambda n: cached.run(n=n))


def prefect_runners(home: str) -> tuple[Runner, Runner]:
    from prefect import flow, task
    from prefect.cache_policies import INPUTS, TASK_SOURCE

    @task(cache_policy=None, persist_result=False)
    def add(x: int) -> int:
        return x + 1

    @task(cache_policy=INPUTS + TASK_SOURCE, persist_result=True)
    def add_cached(x: int) -> int:
        return x + 1

    @flow
    def chain(n: int) -> Any:
        value = 0
        for _ in range(n):
            value = add(value)
        return value

    @flow
    def cached(n: int) -> Any:
        value = 0
        for _ in range(n):
            value = add_cached(value)
        return value

    return chain, cached


def timed(fn: Runner, n: int) -> float:
    started = time.perf_counter()
    fn(n)
    return time.perf_counter() - started


def measure(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    make = shipyard_runners if tool == "shipyard" else prefect_runners
    started = time.perf_counter()
    chain, cached = make(args["home"])
    timed(chain, 2)  # warm-up: server / database start
    warmup = time.perf_counter() - started
    steps, repeat = args["steps"], args["repeat"]
    one = [timed(chain, 1) for _ in range(repeat)]
    many = [timed(chain, steps) for _ in range(repeat)]
    per_step = (statistics.median(many) - statistics.median(one)) / (steps - 1)
    first_cached = timed(cached, args["cached_steps"])
    rerun = [timed(cached, args["cached_steps"]) for _ in range(repeat)]
    return {
        "warmup_seconds": warmup,
        "one_step_seconds": one,
        "chain_seconds": many,
        "per_step_seconds": per_step,
        "cached_first_seconds": first_cached,
        "cached_rerun_seconds": rerun,
        "cached_rerun_median": statistics.median(rerun),
    }


def main(argv: list[str]) -> None:
    tool, raw = argv[1], argv[2]
    guard = NetworkGuard()
    guard.install()
    result = measure(tool, json.loads(raw))
    print(RESULT_MARKER + json.dumps({"result": result, "network": guard.report()}), flush=True)


if __name__ == "__main__":
    main(sys.argv)
