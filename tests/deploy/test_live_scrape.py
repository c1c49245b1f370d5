"""Prometheus scrapes a live `shipyard server` (whose store holds a materialized feature
view), a live `shipyard serve` and a live `shipyard scheduler --metrics-port` (which has run
a scheduled pipeline) with the scrape settings the stack uses, every target is up, and every
server, model-server, pipeline and feature metric a dashboard panel or alert rule queries
(derived from ``shipyard.deploy``) is really exported.

The monitoring gauges come from `shipyard monitor metrics` (a textfile, checked against the
catalogue in test_observability).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.deploy import (
    CATALOGUE,
    AlertSettings,
    alert_rules,
    dashboard_expressions,
    dashboards,
    queried_metrics,
    rule_expressions,
)
from shipyard.tracking import Client

LIVE_EXPORTERS = ("server", "serving", "pipelines")
#: The pipeline the live scheduler runs (a module of its own, importable by the run process).
PIPELINE_MODULE = """
from shipyard.pipelines import pipeline, step


@step
def count(n: int) -> int:
    return n + 1


@pipeline
def nightly(n: int = 1) -> None:
    count(n)
"""


def _queried_live_series() -> set[str]:
    """The series the dashboards and alert rules query that a live server, model server or
    scheduler exports (not the textfile gauges)."""
    expressions = [e for d in dashboards().values() for e in dashboard_expressions(d)]
    expressions += rule_expressions(alert_rules(AlertSettings()))
    queried = set().union(*(queried_metrics(e) for e in expressions))
    live = {
        series
        for metric in CATALOGUE
        if metric.exporter in LIVE_EXPORTERS
        for series in metric.series
    }
    return queried & live


def test_prometheus_scrapes_the_live_services_and_every_queried_metric_is_exported(
    sqlite_sdk: Client,
    churn_versions: str,
    run_prometheus: Callable[[dict[str, Any], Path], str],
    spawn: Callable[[list[str], dict[str, str], Path], subprocess.Popen[str]],
    until: Callable[..., Any],
    materialize_view: Callable[[Client, Path], Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    free_port: Callable[[], int],
) -> None:
    shipyard_cli = str(Path(sys.executable).with_name("shipyard"))
    server_port, model_port = free_port(), free_port()
    scheduler_port = free_port()
    server_url = f"http://127.0.0.1:{server_port}"
    model_url = f"http://127.0.0.1:{model_port}"
    home = {**os.environ, "SHIPYARD_HOME": str(sqlite_sdk.settings.home)}
    spawn(
        [shipyard_cli, "server", "--port", str(server_port), "--no-auth"],
        home,
        tmp_path / "server.log",
    )
    until(lambda: httpx.get(f"{server_url}/readyz", timeout=5).status_code == 200, "server")
    # a feature view materialized into the served store, and one never materialized
    materialized = materialize_view(sqlite_sdk, tmp_path)
    # the model server reaches the registry (and records its deployment) through the server
    remote = {**home, "SHIPYARD_TRACKING_URI": server_url}
    spawn(
        [shipyard_cli, "serve", "churn@champion", "--port", str(model_port), "--log-level",
         "warning"],
        remote,
        tmp_path / "model.log",
    )  # fmt: skip
    until(
        lambda: httpx.get(f"{model_url}/v2/health/ready", timeout=5).status_code == 200,
        "the model server is ready",
    )
    # a schedule that is due now, and the scheduler (through the server) that runs it
    (tmp_path / "scrape_pipeline.py").write_text(PIPELINE_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    from scrape_pipeline import nightly  # type: ignore[import-not-found]

    from shipyard.pipelines import schedule

    schedule(nightly, "* * * * *")
    sqlite_sdk.store.set_schedule_fired("nightly", int(time.time() * 1000) - 120_000)
    scheduler_url = f"http://127.0.0.1:{scheduler_port}"
    spawn(
        [shipyard_cli, "scheduler", "--interval", "1", "--no-monitors", "--metrics-port",
         str(scheduler_port)],
        {**remote, "PYTHONPATH": str(tmp_path)},
        tmp_path / "scheduler.log",
    )  # fmt: skip
    until(
        lambda: httpx.get(f"{scheduler_url}/healthz", timeout=5).status_code == 200,
        "the scheduler serves its metrics",
    )
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            {"job_name": "shipyard-server", "static_configs": [{"targets": [server_url[7:]]}]},
            {"job_name": "shipyard-model", "static_configs": [{"targets": [model_url[7:]]}]},
            {
                "job_name": "shipyard-scheduler",
                "static_configs": [{"targets": [scheduler_url[7:]]}],
            },
        ],
    }
    api = run_prometheus(config, tmp_path)
    # traffic, so every labelled series has a sample
    for _ in range(3):
        answer = httpx.post(f"{model_url}/predict", json=[{"a": 4.0, "b": 1.0}], timeout=30)
        assert answer.status_code == 200, answer.text
        assert httpx.get(f"{server_url}/api/v1/deployments", timeout=30).status_code == 200

    def targets_up() -> bool:
        found = httpx.get(f"{api}/targets", timeout=5).json()["data"]["activeTargets"]
        return {t["labels"]["job"]: t["health"] for t in found} == {
            "shipyard-server": "up",
            "shipyard-model": "up",
            "shipyard-scheduler": "up",
        }

    until(targets_up, "every target is up in Prometheus")
    wanted = _queried_live_series()
    assert {"shipyard_http_requests_total", "shipyard_serving_requests_total"} <= wanted
    assert {"shipyard_pipeline_runs_total", "shipyard_pipeline_run_duration_seconds_bucket",
            "shipyard_pipeline_steps_total", "shipyard_feature_view_materialized_timestamp_seconds",
            "shipyard_feature_view_materialized_scrape_ok"} <= wanted  # fmt: skip

    def missing() -> set[str]:
        names = httpx.get(f"{api}/label/__name__/values", timeout=5).json()["data"]
        return wanted - set(names)

    try:
        until(lambda: not missing(), "every queried metric is scraped", timeout=120)
    except AssertionError:
        raise AssertionError(f"queried but never exported: {sorted(missing())}") from None
    # the deployment the model server recorded through the server names its address
    listed = httpx.get(f"{server_url}/api/v1/deployments", timeout=30).json()["deployments"]
    assert [(d["reference"], d["address"]) for d in listed] == [("churn@champion", model_url)]
    # the scheduled run finished, and the failing-schedule alert's series exists at zero
    query = 'shipyard_pipeline_runs_total{schedule="nightly"}'
    found = httpx.get(f"{api}/query", params={"query": query}, timeout=5).json()["data"]
    by_status = {r["metric"]["status"]: float(r["value"][1]) for r in found["result"]}
    # (the schedule fires every minute: a run of this test that crosses a minute sees two)
    assert set(by_status) == {"FINISHED", "FAILED"}, by_status
    assert by_status["FINISHED"] >= 1.0 and by_status["FAILED"] == 0.0, by_status
    # the materialized view's time, by project and view; the other view has no series
    query = "shipyard_feature_view_materialized_timestamp_seconds"
    found = httpx.get(f"{api}/query", params={"query": query}, timeout=5).json()["data"]
    times = {(r["metric"]["project"], r["metric"]["feature_view"]): float(r["value"][1])
             for r in found["result"]}  # fmt: skip
    assert times == {("default", "stats"): materialized.created_at / 1000}, times
    query = "shipyard_feature_view_materialized_scrape_ok"
    found = httpx.get(f"{api}/query", params={"query": query}, timeout=5).json()["data"]
    assert [float(r["value"][1]) for r in found["result"]] == [1.0]
