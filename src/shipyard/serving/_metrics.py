"""Prometheus metrics of a model server.

Each server has its own registry (several can live in one process, as in tests and the
demo). With several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` names a folder they share
and ``/metrics`` adds all of them up.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
)  # fmt: skip
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_VALUE_BUCKETS = (-1.0, 0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 2.0, 5.0, 10.0, 100.0, 1000.0)


class ServingMetrics:
    """The metrics one model server exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "shipyard_serving_requests",
            "Requests answered, by route template and HTTP status code.",
            ["route", "code"],
            registry=r,
        )
        self.errors = Counter(
            "shipyard_serving_errors",
            "Requests answered with an error (4xx or 5xx), by route and error code.",
            ["route", "code", "error"],
            registry=r,
        )
        self.latency = Histogram(
            "shipyard_serving_request_duration_seconds",
            "Time from a request's arrival to its response, by route template.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_rows = Histogram(
            "shipyard_serving_batch_size",
            "Rows per model call (requests coalesced by the batcher).",
            ["model", "version"],
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.batch_requests = Histogram(
            "shipyard_serving_batch_requests",
            "Requests per model call.",
            ["model", "version"],
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.model_seconds = Histogram(
            "shipyard_serving_model_duration_seconds",
            "Time of one model call (a whole batch).",
            ["model", "version"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "shipyard_serving_queue_depth",
            "Requests waiting for or inside a model call.",
            ["model"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.model_info = Gauge(
            "shipyard_serving_model_info",
            "The model versions loaded (1) and those swapped out (0), by alias and role.",
            ["model", "version", "alias", "role"],
            registry=r,
            multiprocess_mode="liveall",
        )
        self.predictions = Histogram(
            "shipyard_serving_prediction_value",
            "Predicted values (numeric outputs), by model version.",
            ["model", "version"],
            buckets=_VALUE_BUCKETS,
            registry=r,
        )
        self.swaps = Counter(
            "shipyard_serving_model_swaps",
            "Times the server swapped to another version because the alias moved.",
            ["model"],
            registry=r,
        )
        self.reference_ok = Gauge(
            "shipyard_serving_reference_ok",
            "1 while the served reference (model@alias) resolves in the registry; 0 when it "
            "no longer does (deleted, or the registry unreachable) and the loaded version "
            "keeps answering.",
            ["model", "alias", "role"],
            registry=r,
            multiprocess_mode="liveall",
        )
        self.refresh_errors = Counter(
            "shipyard_serving_refresh_errors",
            "Alias checks that failed (the reference no longer resolves, or the registry is "
            "unreachable).",
            ["model", "role"],
            registry=r,
        )
        self.log_rows = Counter(
            "shipyard_serving_prediction_log_rows",
            "Prediction rows written to the prediction log.",
            registry=r,
        )
        self.log_shed = Counter(
            "shipyard_serving_prediction_log_shed_rows",
            "Prediction rows NOT logged because the log queue was full (or a write failed).",
            registry=r,
        )

    def payload(self) -> tuple[bytes, str]:
        """The exposition text (every worker's, with several processes)."""
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def observe_all(histogram: Any, values: Any) -> None:
    """``histogram.observe(v)`` for each of ``values`` (numbers), in one pass: each bucket
    counted with NumPy and incremented once, instead of one Python call per row. Falls back
    to one ``observe`` per value when the histogram is not prometheus_client's own."""
    import numpy as np

    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    array = np.asarray(values, dtype=np.float64).ravel()
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for value in array.tolist():
            histogram.observe(value)
        return
    # observe() counts a value in the first bucket whose upper bound is >= it (NaN: none)
    first = np.searchsorted(np.asarray(bounds, dtype=np.float64), array, side="left")
    counts = np.bincount(first, minlength=len(bounds) + 1)[: len(bounds)]
    for index in np.flatnonzero(counts).tolist():
        buckets[index].inc(int(counts[index]))
    if array.size:
        total.inc(float(array.sum()))
