"""The serving part of the demo: serve the champion in the background, send a burst of
requests, and read the server's own metrics back."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from shipyard import models
from shipyard.errors import InvalidArgument
from shipyard.serving import BackgroundServer, ServingConfig


@dataclass
class ServingDemo:
    """What the burst measured: requests, failures, client latency percentiles (ms), the
    server's mean rows per model call, its model calls, and the logged prediction rows.

    Attributes:
        url: The model server's address.
        requests: The requests sent.
        failed: The requests that failed.
        seconds: How long the burst took.
        p50_ms: The median client latency.
        p99_ms: The 99th percentile client latency.
        mean_batch: The server's mean rows per model call.
        model_calls: The server's model calls.
        logged_rows: The prediction rows logged.
    """

    url: str
    requests: int
    failed: int
    seconds: float
    p50_ms: float
    p99_ms: float
    mean_batch: float
    model_calls: int
    logged_rows: int


def run_serving_demo(
    ref: str,
    rows: list[dict[str, Any]] | None = None,
    requests: int = 400,
    concurrency: int = 16,
) -> ServingDemo:
    """Serve ``ref``, post ``requests`` one-row /predict calls from ``concurrency`` threads
    (rows from ``rows``, or the model's stored input example)."""
    if rows is None:
        example = models.load(ref).input_example
        rows = example.to_dict(orient="records") if example is not None else []
    if not rows:
        raise InvalidArgument(f"{ref} has no input example; pass rows", field="rows")
    config = ServingConfig(poll_seconds=0, log_flush_seconds=0.2)
    with BackgroundServer(ref, config) as server:
        latencies: list[float] = []
        failed = 0

        def worker(count: int) -> None:
            nonlocal failed
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for i in range(count):
                    started = time.perf_counter()
                    answer = client.post("/predict", json=[rows[i % len(rows)]])
                    latencies.append((time.perf_counter() - started) * 1000)
                    failed += answer.status_code != 200

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(worker, [requests // concurrency] * concurrency))
        seconds = time.perf_counter() - started
        served = server.state.service.primary.current
        assert served is not None
        labels = {"model": served.name, "version": str(served.version)}
        sample = server.state.metrics.registry.get_sample_value
        calls = int(sample("shipyard_serving_batch_size_count", labels) or 0)
        total_rows = sample("shipyard_serving_batch_size_sum", labels) or 0.0
        mean_batch = total_rows / calls if calls else 0.0
        log = server.state.log
    logged = log.written_rows if log is not None else 0
    return ServingDemo(
        url=server.url,
        requests=len(latencies),
        failed=failed,
        seconds=seconds,
        p50_ms=float(np.percentile(latencies, 50)),
        p99_ms=float(np.percentile(latencies, 99)),
        mean_batch=mean_batch,
        model_calls=calls,
        logged_rows=logged,
    )
