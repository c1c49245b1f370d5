"""Child side of ``bench/tracking.py``: one measurement, for one tool, in a fresh process.

Usage: ``python _tracking_child.py TOOL TASK JSON_ARGS`` where TOOL is ``mlflow`` or
``shipyard`` and TASK one of :data:`TASKS`. Runs with the tool's own interpreter (MLflow's
venv, or the project venv for Shipyard), so this module imports only the standard library at
top level; the tool is imported inside its adapter. The timing loops, data generation and the
network guard are shared: an adapter only maps a handful of calls onto the tool's API.

The result is printed as one JSON line at interpreter exit (after the tool's own atexit
hooks, e.g. MLflow's telemetry flush), together with the network attempts the guard saw.
"""

from __future__ import annotations

import atexit
import ipaddress
import json
import random
import socket
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

RESULT_MARKER = "@@BENCH-RESULT@@ "  # same as bench/_competitors.py (kept stdlib-only here)
EXPERIMENT = "bench"
Point = tuple[str, float, int, int]  # key, value, step, timestamp (ms)


# --------------------------------------------------------------------------- network guard


class NetworkGuard:
    """Records every socket destination and DNS lookup; refuses anything off this machine.

    Refusing (instead of letting the call through) keeps the benchmark from sending traffic
    off the machine; the caller sees a fast ``ConnectionRefusedError`` / ``gaierror``, as on a
    machine with no route out.
    """

    _LOCAL_NAMES = frozenset({"", "localhost", "localhost.localdomain", "ip6-localhost"})

    def __init__(self) -> None:
        self.attempts: Counter[str] = Counter()
        self.blocked: Counter[str] = Counter()
        self._connect = socket.socket.connect
        self._connect_ex = socket.socket.connect_ex
        self._getaddrinfo = socket.getaddrinfo

    def install(self) -> None:
        guard = self

        def connect(sock: socket.socket, address: Any) -> None:
            guard._check(sock, address)
            guard._connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            guard._check(sock, address)
            return guard._connect_ex(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else str(host or "")
            if not guard._is_local(name):
                guard._refuse(f"dns:{name}")
                raise socket.gaierror(socket.EAI_NONAME, f"bench network guard: {name}")
            return guard._getaddrinfo(host, *args, **kwargs)

        socket.socket.connect = connect  # type: ignore[method-assign, assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign, assignment]
        socket.getaddrinfo = getaddrinfo

    def _is_local(self, host: str) -> bool:
        if host.lower() in self._LOCAL_NAMES:
            return True
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return False

    def _check(self, sock: socket.socket, address: Any) -> None:
        if sock.family == getattr(socket, "AF_UNIX", None):
            return
        host, port = str(address[0]), address[1]
        self.attempts[f"{host}:{port}"] += 1
        if not self._is_local(host):
            self._refuse(f"{host}:{port}")
            raise ConnectionRefusedError(f"bench network guard: {host}:{port}")

    def _refuse(self, what: str) -> None:
        self.blocked[what] += 1

    def report(self) -> dict[str, Any]:
        return {
            "attempts": dict(self.attempts),
            "non_loopback": dict(self.blocked),
            "non_loopback_count": sum(self.blocked.values()),
        }


# --------------------------------------------------------------------------- tool adapters


class Tool(Protocol):
    """The calls the measurements need, mapped onto one tool's API."""

    def setup(self, home: Path, *, sync: bool) -> dict[str, Any]: ...
    def run(self, name: str) -> AbstractContextManager[str]: ...
    def log_metric(self, key: str, value: float, step: int) -> None: ...
    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...
    def log_batch(self, run_id: str, points: list[Point]) -> None: ...
    def add_finished_run(self, name: str, params: dict[str, str], points: list[Point]) -> None: ...
    def metric_count(self, run_id: str, key: str) -> int: ...
    def search(self, filter: str, order_by: list[str], limit: int) -> list[float]: ...


class MlflowTool:
    """MLflow with a SQLite tracking URI, otherwise at its defaults (telemetry included)."""

    def setup(self, home: Path, *, sync: bool) -> dict[str, Any]:
        import mlflow  # type: ignore[import-not-found]
        from mlflow.telemetry.utils import (  # type: ignore[import-not-found]
            is_telemetry_disabled,
        )

        home.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow.db'}")
        self.mlflow = mlflow
        self.client = mlflow.MlflowClient()
        self.experiment_id = mlflow.set_experiment(EXPERIMENT).experiment_id
        return {"version": mlflow.__version__, "telemetry_enabled": not is_telemetry_disabled()}

    @contextmanager
    def run(self, name: str) -> Iterator[str]:
        with self.mlflow.start_run(run_name=name) as run:
            yield run.info.run_id

    def log_metric(self, key: str, value: float, step: int) -> None:
        self.mlflow.log_metric(key, value, step=step)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.mlflow.log_metrics(metrics, step=step)

    def log_batch(self, run_id: str, points: list[Point]) -> None:
        from mlflow.entities import Metric  # type: ignore[import-not-found]

        metrics = [Metric(k, v, ts, step) for k, v, step, ts in points]
        self.client.log_batch(run_id, metrics=metrics)

    def add_finished_run(self, name: str, params: dict[str, str], points: list[Point]) -> None:
        from mlflow.entities import Metric, Param

        run_id = self.client.create_run(self.experiment_id, run_name=name).info.run_id
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, v, ts, step) for k, v, step, ts in points],
            params=[Param(k, v) for k, v in params.items()],
        )
        self.client.set_terminated(run_id)

    def metric_count(self, run_id: str, key: str) -> int:
        return len(self.client.get_metric_history(run_id, key))

    def search(self, filter: str, order_by: list[str], limit: int) -> list[float]:
        df = self.mlflow.search_runs(
            experiment_ids=[self.experiment_id],
            filter_string=filter,
            order_by=order_by,
            max_results=limit,
        )
        return [float(v) for v in df["metrics.m1"]]


class ShipyardTool:
    """Shipyard embedded (SQLite under a fresh home), buffered or synchronous logging."""

    def setup(self, home: Path, *, sync: bool) -> dict[str, Any]:
        import shipyard

        # Any: mypy does not see the lazily exported names of ``shipyard`` (computed __all__)
        self.shipyard: Any = shipyard
        self.client = self.shipyard.configure(home=str(home), sync_logging=sync)  # default Client
        self.store = self.client.store
        self.experiment_id = self.store.get_or_create_experiment(EXPERIMENT).id
        return {"version": shipyard.__version__, "sync_logging": sync}

    @contextmanager
    def run(self, name: str) -> Iterator[str]:
        with self.shipyard.start_run(experiment=EXPERIMENT, name=name) as run:
            yield run.id

    def log_metric(self, key: str, value: float, step: int) -> None:
        self.shipyard.log_metric(key, value, step=step)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.shipyard.log_metrics(metrics, step=step)

    def log_batch(self, run_id: str, points: list[Point]) -> None:
        self.client.log_batch(run_id, metrics=points)

    def add_finished_run(self, name: str, params: dict[str, str], points: list[Point]) -> None:
        run_id = self.store.create_run(self.experiment_id, name).id
        self.client.log_batch(run_id, metrics=points, params=params)
        self.store.update_run(run_id, status="FINISHED", end_time=now_ms())

    def metric_count(self, run_id: str, key: str) -> int:
        return len(self.client.get_metric_history(run_id, key))

    def search(self, filter: str, order_by: list[str], limit: int) -> list[float]:
        df = self.shipyard.search_runs(EXPERIMENT, filter=filter, order_by=order_by, limit=limit)
        return [float(v) for v in df["metrics.m1"]]


TOOLS: dict[str, Callable[[], Tool]] = {"mlflow": MlflowTool, "shipyard": ShipyardTool}


# --------------------------------------------------------------------------- measurements


def now_ms() -> int:
    return int(time.time() * 1000)


def _warm_up(tool: Tool) -> None:
    """First-call costs (lazy imports, first run) are not what the loops measure."""
    with tool.run("warmup") as run_id:
        for i in range(10):
            tool.log_metric("w", float(i), step=i)
        tool.log_metrics({"w1": 1.0, "w2": 2.0}, step=0)
        tool.log_batch(run_id, [("w3", 1.0, 0, now_ms())])


def _throughput(count: int, seconds: float, **extra: Any) -> dict[str, Any]:
    return {"count": count, "seconds": seconds, "per_second": count / seconds, **extra}


def task_log_metric(tool: Tool, n: int) -> dict[str, Any]:
    """``n`` single log_metric calls in one run, timed until the run has ended."""
    _warm_up(tool)
    started = time.perf_counter()
    with tool.run("log_metric") as run_id:
        for i in range(n):
            tool.log_metric("m", i * 0.001, step=i)
    seconds = time.perf_counter() - started
    return _throughput(n, seconds, stored=tool.metric_count(run_id, "m"))


def _batch(b: int, size: int, keys: int) -> list[Point]:
    ts = now_ms()
    per_key = size // keys
    return [(f"m{j % keys}", j * 0.5, b * per_key + j // keys, ts) for j in range(size)]


def task_log_batch(tool: Tool, batches: int, size: int, keys: int) -> dict[str, Any]:
    """``batches`` log_batch calls of ``size`` points (``keys`` keys) in one run."""
    _warm_up(tool)
    payload = [_batch(b, size, keys) for b in range(batches)]
    started = time.perf_counter()
    with tool.run("log_batch") as run_id:
        for points in payload:
            tool.log_batch(run_id, points)
    seconds = time.perf_counter() - started
    return _throughput(batches * size, seconds, stored=tool.metric_count(run_id, "m0") * keys)


def task_log_metrics(tool: Tool, steps: int, keys: int) -> dict[str, Any]:
    """``steps`` log_metrics calls with a dict of ``keys`` metrics each, in one run."""
    _warm_up(tool)
    dicts = [{f"m{k}": s + k * 0.01 for k in range(keys)} for s in range(steps)]
    started = time.perf_counter()
    with tool.run("log_metrics") as run_id:
        for step, metrics in enumerate(dicts):
            tool.log_metrics(metrics, step=step)
    seconds = time.perf_counter() - started
    return _throughput(steps * keys, seconds, stored=tool.metric_count(run_id, "m0") * keys)


def synthetic_runs(count: int, seed: int) -> Iterator[tuple[str, dict[str, str], list[Point]]]:
    """The same ``count`` runs for every tool: 5 params and 5 metrics each."""
    rng = random.Random(seed)
    ts = now_ms()
    for i in range(count):
        params = {f"p{j}": rng.choice("abcd") for j in range(5)}
        points = [(f"m{j}", rng.random(), 0, ts) for j in range(5)]
        yield f"r{i}", params, points


def task_search(
    tool: Tool, runs: int, seed: int, filter: str, order_by: list[str], limit: int, repeat: int
) -> dict[str, Any]:
    """Populate ``runs`` finished runs, then time one search (median of ``repeat``)."""
    started = time.perf_counter()
    for name, params, points in synthetic_runs(runs, seed):
        tool.add_finished_run(name, params, points)
    populate = time.perf_counter() - started
    top = tool.search(filter, order_by, limit)  # warm-up
    timings = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        tool.search(filter, order_by, limit)
        timings.append(time.perf_counter() - t0)
    return {
        "runs": runs,
        "populate_seconds": populate,
        "populate_runs_per_second": runs / populate,
        "search_seconds": statistics.median(timings),
        "search_all_seconds": timings,
        "returned": len(top),
        "top_m1": top[:5],
    }


TASKS: dict[str, Callable[..., dict[str, Any]]] = {
    "log_metric": task_log_metric,
    "log_batch": task_log_batch,
    "log_metrics": task_log_metrics,
    "search": task_search,
}


def main(argv: list[str]) -> None:
    """``TOOL TASK JSON``; the JSON holds ``home`` (a fresh empty folder), ``sync`` and the
    task's keyword arguments."""
    tool_name, task_name, raw = argv
    kwargs: dict[str, Any] = json.loads(raw)
    home, sync = Path(kwargs.pop("home")), bool(kwargs.pop("sync", False))
    guard = NetworkGuard()
    guard.install()
    outcome: dict[str, Any] = {"tool": tool_name, "task": task_name}
    # Registered before the tool is imported, so it runs after the tool's own atexit hooks.
    atexit.register(
        lambda: print(RESULT_MARKER + json.dumps({**outcome, "network": guard.report()}))
    )
    tool = TOOLS[tool_name]()
    outcome["info"] = tool.setup(home, sync=sync)
    outcome["result"] = TASKS[task_name](tool, **kwargs)


if __name__ == "__main__":
    main(sys.argv[1:])
