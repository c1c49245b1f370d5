"""Prometheus gauges from monitor runs, for a Grafana dashboard.

Each call builds a fresh registry from the given runs (the latest run per monitor), so a
scheduler process, a CLI call (``shipyard monitor metrics``) or a node-exporter textfile
all export the same numbers:

- ``shipyard_monitor_share_drifted{monitor}``
- ``shipyard_monitor_drift_statistic{monitor,column,test}``
- ``shipyard_monitor_output_drift_statistic{monitor,output,test}`` and
  ``shipyard_monitor_output_drifted{monitor,output}`` (``output``: prediction or target)
- ``shipyard_monitor_metric{monitor,metric}`` (auc, accuracy, mae ... and estimated_*)
- ``shipyard_monitor_labelled_rows{monitor}`` and ``shipyard_monitor_rows{monitor}``
- ``shipyard_monitor_alert_firing{monitor,rule}`` and ``shipyard_monitor_run_ok{monitor}``
"""

from __future__ import annotations

from collections.abc import Sequence

from shipyard.entities import MonitorRun, MonitorRunStatus

OUTPUT_PREFIXES = ("prediction_drift.", "target_drift.")
OUTPUT_FLAGS = ("prediction_drifted", "target_drifted")


def gauges_text(runs: Sequence[MonitorRun]) -> str:
    """The Prometheus text exposition of the latest run of each monitor in ``runs``."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry()
    prefix = "shipyard_monitor_"
    share = Gauge(
        f"{prefix}share_drifted", "Share of drifted columns", ["monitor"], registry=registry
    )
    stat = Gauge(
        f"{prefix}drift_statistic",
        "Drift test statistic per column",
        ["monitor", "column", "test"],
        registry=registry,
    )
    output_stat = Gauge(
        f"{prefix}output_drift_statistic",
        "Prediction or target drift test statistic",
        ["monitor", "output", "test"],
        registry=registry,
    )
    output_drifted = Gauge(
        f"{prefix}output_drifted",
        "1 when the prediction or target distribution drifted",
        ["monitor", "output"],
        registry=registry,
    )
    metric = Gauge(
        f"{prefix}metric", "Performance metric", ["monitor", "metric"], registry=registry
    )
    labelled = Gauge(
        f"{prefix}labelled_rows", "Labelled rows in the window", ["monitor"], registry=registry
    )
    rows = Gauge(f"{prefix}rows", "Rows in the window", ["monitor"], registry=registry)
    firing = Gauge(
        f"{prefix}alert_firing", "1 while an alert fires", ["monitor", "rule"], registry=registry
    )
    ok = Gauge(f"{prefix}run_ok", "1 when the last run scored", ["monitor"], registry=registry)
    latest: dict[str, MonitorRun] = {}
    for run in runs:
        if run.monitor not in latest or run.started_at > latest[run.monitor].started_at:
            latest[run.monitor] = run
    for name, run in latest.items():
        ok.labels(name).set(1.0 if run.status == MonitorRunStatus.OK else 0.0)
        values = run.result.get("metrics", {})
        for key, value in values.items():
            if value is None:
                continue
            if key.startswith("drift."):
                column, test = key[len("drift.") :].rsplit(".", 1)
                stat.labels(name, column, test).set(float(value))
            elif key.startswith(OUTPUT_PREFIXES):
                output, test = key.split("_drift.", 1)
                output_stat.labels(name, output, test).set(float(value))
            elif key in OUTPUT_FLAGS:
                output_drifted.labels(name, key[: -len("_drifted")]).set(float(value))
            elif key == "share_drifted":
                share.labels(name).set(float(value))
            elif key == "labelled":
                labelled.labels(name).set(float(value))
            elif key == "rows":
                rows.labels(name).set(float(value))
            elif key != "drifted_columns":
                metric.labels(name, key).set(float(value))
        for rule, state in run.result.get("alerts", {}).items():
            firing.labels(name, rule).set(1.0 if state.get("firing") else 0.0)
    return generate_latest(registry).decode()
