"""Grafana dashboards built in code (grafana-foundation-sdk), written as provisioned JSON.

Four dashboards: the server (requests, latency, errors), model serving (throughput, p50/p99,
batch sizes, prediction-log rows shed per version), monitoring (drift share, per-column
scores, performance, labelled counts per monitor) and pipelines (run durations, failures,
time since each schedule's last success, the active scheduler, cache hits, time since each
feature view's last materialization). Every query reads only metrics of the catalogue
(``_metrics``); a test holds it.
"""

from __future__ import annotations

import json
from typing import Any

from shipyard.deploy._extra import require

#: The datasource every panel reads; the provisioned Prometheus datasource has this uid.
DATASOURCE_UID = "prometheus"
_RATE = "5m"


def _panel(title: str, unit: str, description: str, *queries: tuple[str, str]) -> Any:
    require("grafana_foundation_sdk")
    from grafana_foundation_sdk.builders.prometheus import Dataquery
    from grafana_foundation_sdk.builders.timeseries import Panel
    from grafana_foundation_sdk.models.dashboard import DataSourceRef

    panel = (
        Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .height(8)
        .span(12)
        .datasource(DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID))
    )
    for ref, (expr, legend) in zip("ABCDEFGH", queries, strict=False):
        panel = panel.with_target(Dataquery().expr(expr).legend_format(legend).ref_id(ref))
    return panel


def _quantile(q: float, bucket: str, by: str) -> str:
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({bucket}[{_RATE}])))"


def _dashboard(uid: str, title: str, rows: list[tuple[str, list[Any]]]) -> dict[str, Any]:
    from grafana_foundation_sdk.builders.dashboard import Dashboard, Row
    from grafana_foundation_sdk.cog.encoder import JSONEncoder

    board = Dashboard(title).uid(uid).tags(["shipyard"]).refresh("30s").time("now-6h", "now")
    for row_title, panels in rows:
        board = board.with_row(Row(row_title))
        for panel in panels:
            board = board.with_panel(panel)
    built: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return built


def server_dashboard() -> dict[str, Any]:
    """The server: request rate by route, latency quantiles, error rate."""
    requests = f"rate(shipyard_http_requests_total[{_RATE}])"
    latency = "shipyard_http_request_duration_seconds_bucket"
    return _dashboard(
        "shipyard-server",
        "Shipyard server",
        [
            ("Requests", [
                _panel("Requests per second by route", "reqps", "Handled requests.",
                       (f"sum by (route) ({requests})", "{{route}}")),
                _panel("Errors per second by status", "reqps", "Requests answered 4xx or 5xx.",
                       ("sum by (status) (rate(shipyard_http_requests_total"
                        f'{{status=~"[45].."}}[{_RATE}]))', "{{status}}")),
            ]),
            ("Latency", [
                _panel("Latency p50 / p99", "s", "Time to handle a request.",
                       (_quantile(0.5, latency, "job"), "p50"),
                       (_quantile(0.99, latency, "job"), "p99")),
                _panel("p99 by route", "s", "The slowest routes.",
                       (_quantile(0.99, latency, "route"), "{{route}}")),
            ]),
        ],
    )  # fmt: skip


def serving_dashboard() -> dict[str, Any]:
    """Model serving: throughput, p50/p99, batch sizes, log rows shed, by model version."""
    latency = "shipyard_serving_request_duration_seconds_bucket"
    return _dashboard(
        "shipyard-serving",
        "Shipyard model serving",
        [
            ("Traffic", [
                _panel("Requests per second", "reqps", "Answered requests by server and code.",
                       (f"sum by (job, code) (rate(shipyard_serving_requests_total[{_RATE}]))",
                        "{{job}} {{code}}")),
                _panel("Rows scored per second by version", "rowsps", "Model throughput.",
                       ("sum by (model, version) "
                        f"(rate(shipyard_serving_batch_size_sum[{_RATE}]))",
                        "{{model}} v{{version}}")),
            ]),
            ("Latency and batching", [
                _panel("Request latency p50 / p99", "s", "Arrival to response.",
                       (_quantile(0.5, latency, "job"), "{{job}} p50"),
                       (_quantile(0.99, latency, "job"), "{{job}} p99")),
                _panel("Rows per model call", "short", "Batch sizes the batcher reached.",
                       (_quantile(0.5, "shipyard_serving_batch_size_bucket", "model, version"),
                        "{{model}} v{{version}} p50"),
                       (_quantile(0.99, "shipyard_serving_batch_size_bucket", "model, version"),
                        "{{model}} v{{version}} p99")),
            ]),
            ("Versions and the prediction log", [
                _panel("Loaded versions", "short", "1 for each version a server holds.",
                       ("shipyard_serving_model_info == 1",
                        "{{model}} v{{version}} {{alias}} ({{role}})")),
                _panel("Prediction log rows shed", "short",
                       "Rows not logged because the log queue was full (0 is healthy).",
                       (f"sum by (job) (increase(shipyard_serving_prediction_log_shed_rows_total"
                        f"[{_RATE}]))", "{{job}} shed"),
                       (f"sum by (job) (increase(shipyard_serving_prediction_log_rows_total"
                        f"[{_RATE}]))", "{{job}} logged")),
            ]),
        ],
    )  # fmt: skip


def monitoring_dashboard() -> dict[str, Any]:
    """Monitoring: drift share, per-column drift scores, performance, labelled rows."""
    return _dashboard(
        "shipyard-monitoring",
        "Shipyard monitoring",
        [
            ("Drift", [
                _panel("Share of drifted columns", "percentunit", "Per monitor, latest run.",
                       ("shipyard_monitor_share_drifted", "{{monitor}}")),
                _panel("Drift score per column", "short", "The test statistic of each column.",
                       ("shipyard_monitor_drift_statistic", "{{monitor}} {{column}} ({{test}})")),
            ]),
            ("Performance", [
                _panel("Quality metrics", "short", "auc, accuracy, mae ... and estimates.",
                       ("shipyard_monitor_metric", "{{monitor}} {{metric}}")),
                _panel("Labelled rows", "short", "Rows with ground truth in the window.",
                       ("shipyard_monitor_labelled_rows", "{{monitor}} labelled"),
                       ("shipyard_monitor_rows", "{{monitor}} rows")),
            ]),
        ],
    )  # fmt: skip


def pipelines_dashboard() -> dict[str, Any]:
    """Pipelines: run durations, failures, step cache hits, time since each feature
    view's last materialization."""
    duration = "shipyard_pipeline_run_duration_seconds_bucket"
    return _dashboard(
        "shipyard-pipelines",
        "Shipyard pipelines",
        [
            ("Runs", [
                _panel("Run duration p50 / p99", "s", "Per pipeline.",
                       (_quantile(0.5, duration, "pipeline"), "{{pipeline}} p50"),
                       (_quantile(0.99, duration, "pipeline"), "{{pipeline}} p99")),
                _panel("Runs by status", "short", "Finished runs in the last hour.",
                       ("sum by (pipeline, status) (increase(shipyard_pipeline_runs_total[1h]))",
                        "{{pipeline}} {{status}}")),
                _panel("Since the last successful run", "s", "Per schedule.",
                       ("time() - shipyard_pipeline_schedule_last_success_timestamp_seconds",
                        "{{schedule}}")),
                _panel("Active scheduler", "short", "1 on the replica holding the lease.",
                       ("shipyard_scheduler_active", "{{instance}}")),
            ]),
            ("Cache", [
                _panel("Step cache hit ratio", "percentunit", "Steps served from the cache.",
                       ('sum by (pipeline) (rate(shipyard_pipeline_steps_total{cached="true"}'
                        f"[{_RATE}])) / sum by (pipeline) "
                        f"(rate(shipyard_pipeline_steps_total[{_RATE}]))", "{{pipeline}}")),
            ]),
            ("Features", [
                _panel("Since the last materialization", "s",
                       "Per feature view; a view never materialized is not shown.",
                       ("time() - max by (project, feature_view) "
                        "(shipyard_feature_view_materialized_timestamp_seconds)",
                        "{{project}}/{{feature_view}}")),
            ]),
        ],
    )  # fmt: skip


def dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard, by file name (``server.json`` ...)."""
    return {
        "server.json": server_dashboard(),
        "serving.json": serving_dashboard(),
        "monitoring.json": monitoring_dashboard(),
        "pipelines.json": pipelines_dashboard(),
    }


def dashboard_expressions(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression a dashboard's panels query."""
    return [
        target["expr"]
        for panel in dashboard.get("panels", [])
        for target in panel.get("targets") or []
        if "expr" in target
    ]
