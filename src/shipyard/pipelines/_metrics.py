"""Prometheus metrics of the scheduler, and the small HTTP endpoint that serves them.

The scheduler is where pipeline runs end for Prometheus: it launched each scheduled run,
notices when its process exits, and reads the finished run and its steps back from the
store. So the scheduler process exports (``shipyard scheduler --metrics-port``):

* ``shipyard_pipeline_runs_total{project, pipeline, schedule, status}``: runs that ended,
  by final status (FINISHED, FAILED, KILLED ...), including runs failed because the
  scheduler that launched them died;
* ``shipyard_pipeline_run_duration_seconds{project, pipeline}``: start to end of each run;
* ``shipyard_pipeline_steps_total{project, pipeline, cached}``: steps of ended runs, cache
  hits (``cached="true"``) and misses;
* ``shipyard_pipeline_schedule_last_success_timestamp_seconds{project, schedule,
  pipeline}``: when a schedule's last run finished successfully;
* ``shipyard_scheduler_active``: 1 while this scheduler holds the scheduler lease.

Counters start at zero when a scheduler starts (or a standby takes over), which
``rate()`` and ``increase()`` handle. The endpoint also answers ``/healthz``: 200 while the
scheduler loop completed a pass recently, 503 once it has hung (a liveness probe restarts
it; a hung holder has lost its lease by then anyway).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from shipyard.entities import PipelineRun, PipelineRunStatus, StepRun

#: Run durations from seconds to a day.
_DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400)


class SchedulerMetrics:
    """The metrics one scheduler exports (its own registry)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.runs = Counter(
            "shipyard_pipeline_runs",
            "Scheduled pipeline runs that ended, by final status.",
            ["project", "pipeline", "schedule", "status"],
            registry=r,
        )
        self.duration = Histogram(
            "shipyard_pipeline_run_duration_seconds",
            "Seconds from a scheduled run's start to its end.",
            ["project", "pipeline"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.steps = Counter(
            "shipyard_pipeline_steps",
            "Steps of ended scheduled runs; cached is true when outputs came from the cache.",
            ["project", "pipeline", "cached"],
            registry=r,
        )
        self.last_success = Gauge(
            "shipyard_pipeline_schedule_last_success_timestamp_seconds",
            "When a schedule's latest successful run ended (seconds since the epoch).",
            ["project", "schedule", "pipeline"],
            registry=r,
        )
        self.active = Gauge(
            "shipyard_scheduler_active",
            "1 while this scheduler holds the scheduler lease (the active one), else 0.",
            registry=r,
        )

    def run_started(self, run: PipelineRun) -> None:
        """Create the run's FINISHED and FAILED series at zero, so the first failure is an
        increase Prometheus sees (a series born at 1 shows no ``increase()``)."""
        for status in (PipelineRunStatus.FINISHED, PipelineRunStatus.FAILED):
            self.runs.labels(run.project, run.pipeline, run.schedule or "", str(status))

    def run_ended(self, run: PipelineRun, steps: Sequence[StepRun]) -> None:
        """Count a run that reached its final status, with its steps."""
        schedule = run.schedule or ""
        self.runs.labels(run.project, run.pipeline, schedule, str(run.status)).inc()
        if run.start_time is not None and run.end_time is not None:
            seconds = max(0.0, (run.end_time - run.start_time) / 1000)
            self.duration.labels(run.project, run.pipeline).observe(seconds)
        for cached in (True, False):
            count = sum(1 for step in steps if bool(step.cache_hit) is cached)
            if count:
                self.steps.labels(run.project, run.pipeline, str(cached).lower()).inc(count)
        if run.status == PipelineRunStatus.FINISHED and schedule and run.end_time is not None:
            self.last_success.labels(run.project, schedule, run.pipeline).set(run.end_time / 1000)

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format."""
        return generate_latest(self.registry)


def serve_metrics(
    metrics: SchedulerMetrics, host: str, port: int, healthy: Callable[[], bool]
) -> ThreadingHTTPServer:
    """Serve ``/metrics`` and ``/healthz`` on ``host:port`` from a daemon thread; the
    server (``shutdown()`` stops it; its ``server_port`` is the bound port)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, metrics.exposition(), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                ok = healthy()
                self._answer(200 if ok else 503, b"ok\n" if ok else b"stalled\n", "text/plain")
            else:
                self._answer(404, b"not found\n", "text/plain")

        def _answer(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # scrapes every few seconds would drown the scheduler's own log

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="scheduler-metrics", daemon=True).start()
    return server
