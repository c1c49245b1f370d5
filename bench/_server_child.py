"""Child side of ``bench/server.py``: one measurement through a tracking *server*.

Usage: ``python _server_child.py TOOL TASK JSON_ARGS``, like ``_tracking_child.py`` (whose
adapters, loops and network guard it reuses), with ``url`` in the JSON: the client of each tool
talks HTTP to its own server. Two extra tasks time every call: ``latency`` (single
``log_metric`` calls, as a training loop makes them) and ``search_latency`` (the same search
repeated against a store populated beforehand). ``populate`` fills a store *embedded* (no
server), so both servers answer searches over the same runs without minutes of setup.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _tracking_child as base


class MlflowRemote(base.MlflowTool):
    """MLflow's client talking to ``mlflow server`` at ``url``."""

    url = ""

    def setup(self, home: Path, *, sync: bool) -> dict[str, Any]:
        import mlflow

        mlflow.set_tracking_uri(self.url)
        self.mlflow = mlflow
        self.client = mlflow.MlflowClient()
        self.experiment_id = mlflow.set_experiment(base.EXPERIMENT).experiment_id
        return {"version": mlflow.__version__, "url": self.url}


class ShipyardRemote(base.ShipyardTool):
    """Shipyard's SDK with ``SHIPYARD_TRACKING_URI`` pointing at ``shipyard server``."""

    url = ""

    def setup(self, home: Path, *, sync: bool) -> dict[str, Any]:
        import shipyard

        self.shipyard = shipyard
        self.client = shipyard.configure(
            home=str(home), tracking_uri=self.url, sync_logging=sync, capture_environment=False
        )
        self.store = self.client.store
        self.experiment_id = self.store.get_or_create_experiment(base.EXPERIMENT).id
        return {"version": shipyard.__version__, "url": self.url, "sync_logging": sync}


def _percentiles(timings: list[float]) -> dict[str, Any]:
    ordered = sorted(timings)
    return {
        "count": len(ordered),
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "mean": statistics.fmean(ordered),
    }


def task_latency(tool: base.Tool, n: int) -> dict[str, Any]:
    """``n`` single log_metric calls, each timed."""
    base._warm_up(tool)
    timings = []
    with tool.run("latency") as run_id:
        for i in range(n):
            started = time.perf_counter()
            tool.log_metric("m", i * 0.001, step=i)
            timings.append(time.perf_counter() - started)
    return {**_percentiles(timings), "stored": tool.metric_count(run_id, "m")}


def task_search_latency(
    tool: base.Tool, filter: str, order_by: list[str], limit: int, repeat: int
) -> dict[str, Any]:
    """The same search ``repeat`` times against runs already in the store."""
    top = tool.search(filter, order_by, limit)  # warm-up
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        tool.search(filter, order_by, limit)
        timings.append(time.perf_counter() - started)
    return {**_percentiles(timings), "returned": len(top), "top_m1": top[:5]}


def task_populate(tool: base.Tool, runs: int, seed: int) -> dict[str, Any]:
    """Fill an embedded store with the benchmark's synthetic runs."""
    started = time.perf_counter()
    for name, params, points in base.synthetic_runs(runs, seed):
        tool.add_finished_run(name, params, points)
    return {"runs": runs, "seconds": time.perf_counter() - started}


def main(argv: list[str]) -> None:
    tool_name, task_name, raw = argv
    import json

    kwargs = json.loads(raw)
    url = kwargs.pop("url", "")
    if url:
        MlflowRemote.url = ShipyardRemote.url = url
        base.TOOLS.update({"mlflow": MlflowRemote, "shipyard": ShipyardRemote})
    base.TASKS.update(
        {"latency": task_latency, "search_latency": task_search_latency, "populate": task_populate}
    )
    base.main([tool_name, task_name, json.dumps(kwargs)])


if __name__ == "__main__":
    main(sys.argv[1:])
