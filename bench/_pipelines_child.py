"""Child side of ``bench/pipelines.py``: one tool's measurements in a fresh process.

Usage: ``python _pipelines_child.py TOOL JSON_ARGS`` with TOOL ``shipyard``, ``prefect`` or
``shipyard-ray`` (Shipyard's Ray executor against bare Ray tasks, see ``measure_ray``), run
by that tool's interpreter (the project venv, or Prefect's venv). It builds the same two
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


def _start_ray(home: str) -> Any:
    """A local Ray (2 CPUs, a small object store), started once, whose workers import
    ``_pipelines_steps`` and run this interpreter (not an environment ``uv`` would build)."""
    import ray
    from ray._private import ray_constants

    ray_constants.RAY_ENABLE_UV_RUN_RUNTIME_ENV = False
    here = str(Path(__file__).resolve().parent)
    ray.init(
        num_cpus=2,
        object_store_memory=80 * 2**20,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": here, "SHIPYARD_HOME": home}},
    )
    return ray


def measure_ray(args: dict[str, Any]) -> dict[str, Any]:
    """Shipyard's Ray executor against bare ``ray.remote`` tasks doing the same work, on one
    local Ray: a chain of ``steps`` additions, each step waiting for the previous one's
    result (bare: ``ray.get`` before the next submit, as any orchestrator that records each
    step's result must; info: the same chain passing ObjectRefs, one ``ray.get`` at the
    end). Runs alternate between the two, so load changes touch both alike."""
    import shipyard

    shipyard.configure(home=args["home"])
    started = time.perf_counter()
    ray = _start_ray(args["home"])
    from _pipelines_steps import add_one, ray_chain

    remote_add = ray.remote(add_one)

    def bare(n: int) -> Any:
        value = 0
        for _ in range(n):
            value = ray.get(remote_add.remote(value))
        return value

    def bare_refs(n: int) -> Any:
        ref: Any = 0
        for _ in range(n):
            ref = remote_add.remote(ref)
        return ray.get(ref)

    def shipyard_ray(n: int) -> Any:
        return ray_chain.run(n=n, executor="ray")

    runners = {"shipyard": shipyard_ray, "bare": bare, "bare_refs": bare_refs}
    for runner in runners.values():  # warm-up: workers started, modules imported
        runner(4)
    startup = time.perf_counter() - started
    steps, repeat = args["steps"], args["repeat"]
    times: dict[str, dict[str, list[float]]] = {
        k: {"one": [], "many": [], "many_driver_cpu": []} for k in runners
    }
    for _ in range(repeat):
        for name, runner in runners.items():
            times[name]["one"].append(timed(runner, 1))
            cpu = time.process_time()
            times[name]["many"].append(timed(runner, steps))
            times[name]["many_driver_cpu"].append(time.process_time() - cpu)
    result: dict[str, Any] = {"startup_seconds": startup, "steps": steps}
    for name, runs in times.items():
        one, many = statistics.median(runs["one"]), statistics.median(runs["many"])
        result[name] = {
            **runs,
            "per_step_seconds": many / steps,
            "marginal_seconds": (many - one) / (steps - 1),
            # this process's CPU per step (Ray's own threads in it included): what the
            # driver does per step, beside the worker's and Ray's processes
            "driver_cpu_per_step_seconds": statistics.median(runs["many_driver_cpu"]) / steps,
        }
    return result


def main(argv: list[str]) -> None:
    tool, raw = argv[1], argv[2]
    guard = NetworkGuard()
    guard.install()
    args = json.loads(raw)
    result = measure_ray(args) if tool == "shipyard-ray" else measure(tool, args)
    print(RESULT_MARKER + json.dumps({"result": result, "network": guard.report()}), flush=True)


if __name__ == "__main__":
    main(sys.argv)
