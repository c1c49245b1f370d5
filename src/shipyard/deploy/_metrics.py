"""The catalogue of Prometheus metrics Shipyard's services export, by exporter.

Dashboards and alert rules may query only what is listed here, and a test compares the
exported entries with the registries of the server, the model server and the monitor gauges,
so a renamed metric breaks a test instead of a dashboard. The ``pipelines`` exporter is the
scheduler (``shipyard scheduler --metrics-port``); the server also exports each feature
view's last materialization time, read from the store at scrape time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]
_SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}


@dataclass(frozen=True)
class Metric:
    """One metric family: its name (as registered), kind, exporter and labels."""

    name: str
    kind: Kind
    exporter: Literal["server", "serving", "monitoring", "pipelines"]
    labels: tuple[str, ...] = ()

    @property
    def series(self) -> tuple[str, ...]:
        """The series names a query can use (``_total`` for counters, ``_bucket`` ...)."""
        return tuple(self.name + suffix for suffix in _SUFFIXES[self.kind])


def _m(name: str, kind: Kind, exporter: str, *labels: str) -> Metric:
    return Metric(name, kind, exporter, labels)  # type: ignore[arg-type]


CATALOGUE: tuple[Metric, ...] = (
    _m("shipyard_http_requests", "counter", "server", "method", "route", "status"),
    _m("shipyard_http_request_duration_seconds", "histogram", "server", "method", "route"),
    _m("shipyard_serving_requests", "counter", "serving", "route", "code"),
    _m("shipyard_serving_errors", "counter", "serving", "route", "code", "error"),
    _m("shipyard_serving_request_duration_seconds", "histogram", "serving", "route"),
    _m("shipyard_serving_batch_size", "histogram", "serving", "model", "version"),
    _m("shipyard_serving_batch_requests", "histogram", "serving", "model", "version"),
    _m("shipyard_serving_model_duration_seconds", "histogram", "serving", "model", "version"),
    _m("shipyard_serving_queue_depth", "gauge", "serving", "model"),
    _m("shipyard_serving_model_info", "gauge", "serving", "model", "version", "alias", "role"),
    _m("shipyard_serving_prediction_value", "histogram", "serving", "model", "version"),
    _m("shipyard_serving_model_swaps", "counter", "serving", "model"),
    _m("shipyard_serving_reference_ok", "gauge", "serving", "model", "alias", "role"),
    _m("shipyard_serving_refresh_errors", "counter", "serving", "model", "role"),
    _m("shipyard_serving_prediction_log_rows", "counter", "serving"),
    _m("shipyard_serving_prediction_log_shed_rows", "counter", "serving"),
    _m("shipyard_monitor_share_drifted", "gauge", "monitoring", "monitor"),
    _m("shipyard_monitor_drift_statistic", "gauge", "monitoring", "monitor", "column", "test"),
    _m("shipyard_monitor_output_drift_statistic", "gauge", "monitoring", "monitor", "output"),
    _m("shipyard_monitor_output_drifted", "gauge", "monitoring", "monitor", "output"),
    _m("shipyard_monitor_metric", "gauge", "monitoring", "monitor", "metric"),
    _m("shipyard_monitor_labelled_rows", "gauge", "monitoring", "monitor"),
    _m("shipyard_monitor_rows", "gauge", "monitoring", "monitor"),
    _m("shipyard_monitor_alert_firing", "gauge", "monitoring", "monitor", "rule"),
    _m("shipyard_monitor_run_ok", "gauge", "monitoring", "monitor"),
    _m("shipyard_pipeline_runs", "counter", "pipelines", "project", "pipeline", "schedule",
       "status"),
    _m("shipyard_pipeline_run_duration_seconds", "histogram", "pipelines", "project",
       "pipeline"),
    _m("shipyard_pipeline_steps", "counter", "pipelines", "project", "pipeline", "cached"),
    _m("shipyard_pipeline_schedule_last_success_timestamp_seconds", "gauge", "pipelines",
       "project", "schedule", "pipeline"),
    _m("shipyard_scheduler_active", "gauge", "pipelines"),
    _m("shipyard_feature_view_materialized_timestamp_seconds", "gauge", "server", "project",
       "feature_view"),
    _m("shipyard_feature_view_materialized_scrape_ok", "gauge", "server"),
)  # fmt: skip


def known_series() -> frozenset[str]:
    """Every series name a dashboard or rule may query."""
    return frozenset(s for metric in CATALOGUE for s in metric.series)


def queried_metrics(expr: str) -> set[str]:
    """The ``shipyard_*`` series names a PromQL expression reads."""
    import re

    return set(re.findall(r"\bshipyard_[a-z0-9_]+", expr))
