"""Grafana dashboards and Prometheus alert rules: they load, their unit tests pass, and they
query only metrics that Shipyard's services really export."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from shipyard.deploy import (
    CATALOGUE,
    AlertSettings,
    alert_rules,
    dashboard_expressions,
    dashboards,
    dump_one,
    known_series,
    queried_metrics,
    rule_expressions,
)
from shipyard.entities import FeatureViewFreshness
from shipyard.errors import InvalidArgument
from shipyard.monitoring import gauges_text
from shipyard.pipelines import SchedulerMetrics
from shipyard.server._feature_metrics import MaterializationTimes
from shipyard.server._observe import REGISTRY as SERVER_REGISTRY
from shipyard.serving._metrics import ServingMetrics

RULE_TESTS = Path(__file__).parent / "alerts_test.yml"


def _families(registry: CollectorRegistry) -> dict[str, str]:
    return {m.name: m.type for m in registry.collect()}


def _monitor_families(monitor_run) -> dict[str, str]:
    text = gauges_text([monitor_run])
    return {f.name: f.type for f in text_string_to_metric_families(text)}


def test_the_catalogue_matches_what_the_services_export(monitor_run):
    materialized = FeatureViewFreshness("default", "customer", 1_000, 900)
    exported = {
        "server": _families(SERVER_REGISTRY)
        | _families(MaterializationTimes(lambda: [materialized]).registry()),
        "serving": _families(ServingMetrics().registry),
        "monitoring": _monitor_families(monitor_run),
        "pipelines": _families(SchedulerMetrics().registry),
    }
    for metric in CATALOGUE:
        assert exported[metric.exporter].get(metric.name) == metric.kind, metric.name
    for exporter, families in exported.items():
        listed = {m.name for m in CATALOGUE if m.exporter == exporter}
        missing = {f for f in families if f.startswith("shipyard_")} - listed
        assert not missing, f"{exporter} exports metrics the catalogue lacks: {missing}"


def test_the_materialization_series_carry_the_catalogued_labels():
    """The stale-materialization rule groups by these labels: a renamed label would merge
    views into one series instead of failing."""
    materialized = FeatureViewFreshness("fraud", "customer", 1_000, 900)
    labels = {m.name: m.labels for m in CATALOGUE}
    for family in MaterializationTimes(lambda: [materialized]).registry().collect():
        assert family.samples, family.name
        for sample in family.samples:
            assert tuple(sample.labels) == labels[family.name], family.name


def test_dashboards_and_rules_query_only_catalogued_metrics():
    expressions = [e for d in dashboards().values() for e in dashboard_expressions(d)]
    expressions += rule_expressions(alert_rules(AlertSettings()))
    queried = set().union(*(queried_metrics(e) for e in expressions))
    assert queried and queried <= known_series(), queried - known_series()


def test_every_dashboard_covers_its_area():
    boards = dashboards()
    assert set(boards) == {"server.json", "serving.json", "monitoring.json", "pipelines.json"}
    for name, board in boards.items():
        assert board["uid"] == f"shipyard-{name.removesuffix('.json')}"
        assert all(
            p["datasource"]["uid"] == "prometheus" for p in board["panels"] if "targets" in p
        )
    serving = " ".join(dashboard_expressions(boards["serving.json"]))
    for needed in ("histogram_quantile(0.99", "batch_size", "prediction_log_shed_rows", "version"):
        assert needed in serving


def test_rules_load_and_pass_their_unit_tests(tmp_path, promtool):
    (tmp_path / "alerts.yml").write_text(dump_one(alert_rules(AlertSettings())))
    shutil.copy(RULE_TESTS, tmp_path / "alerts_test.yml")
    check = subprocess.run(
        [promtool, "check", "rules", "alerts.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert unit.returncode == 0, unit.stdout + unit.stderr


def test_every_alert_has_a_unit_test():
    import yaml

    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    rules = alert_rules(AlertSettings())
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert names == tested


def test_thresholds_reach_the_expressions():
    rules = alert_rules(AlertSettings(error_rate=0.02, drift_share=0.5))
    exprs = " ".join(rule_expressions(rules))
    assert "> 0.02" in exprs and "shipyard_monitor_share_drifted > 0.5" in exprs


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"error_rate": 1.5}, "error_rate"),
        ({"drift_share": 0}, "drift_share"),
        ({"model_p99_seconds": -1}, "model_p99_seconds"),
        ({"for_minutes": 2000}, "for_minutes"),
    ],
)
def test_bad_thresholds_fail_naming_the_field(kwargs, field):
    with pytest.raises(InvalidArgument) as caught:
        AlertSettings(**kwargs)
    assert caught.value.field == field
