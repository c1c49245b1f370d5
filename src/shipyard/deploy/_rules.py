"""Prometheus alert rules for the server, model serving, monitoring, features and pipelines.

``alert_rules(AlertSettings())`` is the ``groups:`` document Prometheus loads (``rule_files``);
the thresholds are typed settings so a team changes a number, not a PromQL expression.

Stale materialization fires per (project, feature view) from the times the server exports.
A view never materialized has no series and so never fires: Prometheus cannot tell an
online view awaiting its first materialization from one kept offline only. When the server
cannot read the times from its store, ``ShipyardMaterializationUnknown`` fires instead (the
stale alert then holds what the last successful read showed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipyard.errors import InvalidArgument


@dataclass(frozen=True)
class AlertSettings:
    """Alert thresholds.

    Args:
        error_rate: share of requests answered 5xx that fires (0-1).
        server_p99_seconds: the server's p99 latency that fires.
        model_p99_seconds: a model server's p99 latency that fires.
        drift_share: share of drifted columns of a monitor that fires (0-1).
        performance_drop: relative drop of a monitor's quality metric from its best of the
            last 7 days that fires (0.1: 10% worse).
        materialization_hours: hours since a feature view's last materialization that fire.
        for_minutes: how long a condition must hold before the alert fires.
    """

    error_rate: float = 0.05
    server_p99_seconds: float = 1.0
    model_p99_seconds: float = 0.5
    drift_share: float = 0.3
    performance_drop: float = 0.1
    materialization_hours: float = 6.0
    for_minutes: int = 5

    def __post_init__(self) -> None:
        for name in ("error_rate", "drift_share", "performance_drop"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
                raise InvalidArgument(f"{name} must be between 0 and 1, got {value!r}", field=name)
        for name in ("server_p99_seconds", "model_p99_seconds", "materialization_hours"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise InvalidArgument(f"{name} must be positive, got {value!r}", field=name)
        minutes = self.for_minutes
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= 1440:
            raise InvalidArgument(
                f"for_minutes must be 0-1440 minutes, got {minutes!r}", field="for_minutes"
            )


def _rule(name: str, expr: str, wait: str, severity: str, summary: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": wait,
        "labels": {"severity": severity},
        "annotations": {"summary": summary},
    }


def _p99(bucket: str, by: str) -> str:
    return f"histogram_quantile(0.99, sum by ({by}, le) (rate({bucket}[5m])))"


def alert_rules(settings: AlertSettings) -> dict[str, Any]:
    """The rule groups, as the document Prometheus loads."""
    s = settings
    wait = f"{s.for_minutes}m"
    server_5xx = 'sum(rate(shipyard_http_requests_total{status=~"5.."}[5m]))'
    server_all = "sum(rate(shipyard_http_requests_total[5m]))"
    model_5xx = 'sum by (job) (rate(shipyard_serving_requests_total{code=~"5.."}[5m]))'
    model_all = "sum by (job) (rate(shipyard_serving_requests_total[5m]))"
    quality = 'shipyard_monitor_metric{metric=~"auc|accuracy|f1|r2|estimated_.*"}'
    # every server replica exports the same times: one alert per view, not per replica
    materialized = (
        "max by (project, feature_view) (shipyard_feature_view_materialized_timestamp_seconds)"
    )
    return {
        "groups": [
            {
                "name": "shipyard-server",
                "rules": [
                    _rule("ShipyardServerErrorRate",
                          f"{server_5xx} / {server_all} > {s.error_rate}", wait, "critical",
                          "More than {{ $value | humanizePercentage }} of server requests fail"),
                    _rule("ShipyardServerLatencyP99",
                          f"{_p99('shipyard_http_request_duration_seconds_bucket', 'job')}"
                          f" > {s.server_p99_seconds}",
                          wait, "warning", "Server p99 latency is {{ $value | humanizeDuration }}"),
                ],
            },
            {
                "name": "shipyard-serving",
                "rules": [
                    _rule("ShipyardModelErrorRate", f"{model_5xx} / {model_all} > {s.error_rate}",
                          wait, "critical",
                          "Model server {{ $labels.job }} fails {{ $value | humanizePercentage }}"
                          " of requests"),
                    _rule("ShipyardModelLatencyP99",
                          f"{_p99('shipyard_serving_request_duration_seconds_bucket', 'job')}"
                          f" > {s.model_p99_seconds}",
                          wait, "warning",
                          "Model server {{ $labels.job }} p99 latency is"
                          " {{ $value | humanizeDuration }}"),
                    _rule("ShipyardPredictionLogShedding",
                          "increase(shipyard_serving_prediction_log_shed_rows_total[10m]) > 0",
                          "0m", "warning",
                          "Model server {{ $labels.job }} dropped prediction log rows"),
                ],
            },
            {
                "name": "shipyard-monitoring",
                "rules": [
                    _rule("ShipyardDataDrift",
                          f"shipyard_monitor_share_drifted > {s.drift_share}", "0m", "warning",
                          "Monitor {{ $labels.monitor }}: {{ $value | humanizePercentage }} of"
                          " columns drifted"),
                    _rule("ShipyardPerformanceDrop",
                          f"{quality} < {1 - s.performance_drop:g} * max_over_time({quality}[7d])",
                          "0m", "critical",
                          "Monitor {{ $labels.monitor }}: {{ $labels.metric }} dropped to"
                          " {{ $value }}"),
                    _rule("ShipyardMonitorFailing", "shipyard_monitor_run_ok == 0", "0m",
                          "warning", "Monitor {{ $labels.monitor }} could not score its window"),
                ],
            },
            {
                "name": "shipyard-pipelines",
                "rules": [
                    _rule("ShipyardStaleMaterialization",
                          f"time() - {materialized} > {s.materialization_hours * 3600:g}",
                          "0m", "warning",
                          "Feature view {{ $labels.feature_view }} of project"
                          " {{ $labels.project }} was not materialized for"
                          " {{ $value | humanizeDuration }}"),
                    _rule("ShipyardMaterializationUnknown",
                          "max by (job) (shipyard_feature_view_materialized_scrape_ok) == 0",
                          wait, "warning",
                          "Server {{ $labels.job }} cannot read when feature views were"
                          " materialized"),
                    _rule("ShipyardScheduleFailing",
                          'increase(shipyard_pipeline_runs_total{status="FAILED",schedule!=""}[1h])'
                          " > 0",
                          "0m", "critical",
                          "Schedule {{ $labels.schedule }} of {{ $labels.pipeline }} failed"),
                ],
            },
        ]
    }  # fmt: skip


def rule_expressions(rules: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a rules document."""
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
