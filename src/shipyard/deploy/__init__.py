"""Delivery: the files that ship Shipyard, rendered from typed settings.

Kubernetes (Kustomize bases and overlays, a model's Deployment or KServe InferenceService),
the compose file of the team stack, the Terraform module for AWS, Grafana dashboards and
Prometheus alert rules, and the SBOM of a model image. Everything here renders text;
nothing talks to a cluster.
"""

from __future__ import annotations

from shipyard.deploy._compose import ComposeSettings, compose_file, prometheus_config
from shipyard.deploy._dashboards import DATASOURCE_UID, dashboard_expressions, dashboards
from shipyard.deploy._image import dockerfile
from shipyard.deploy._k8s import (
    in_namespace,
    inference_service,
    model_manifests,
    scheduler_manifests,
    server_manifests,
)
from shipyard.deploy._kustomize import OVERLAYS, Overlay, render_overlay, write_kustomize
from shipyard.deploy._metrics import CATALOGUE, Metric, known_series, queried_metrics
from shipyard.deploy._rules import AlertSettings, alert_rules, rule_expressions
from shipyard.deploy._sbom import SBOM_FILE, pinned_requirements, sbom_json, write_sbom
from shipyard.deploy._settings import ModelDeployment, Resources, StackSettings
from shipyard.deploy._stack import write_stack
from shipyard.deploy._terraform import settings_from_outputs, write_terraform
from shipyard.deploy._yaml import dump_all, dump_one

__all__ = [
    "CATALOGUE",
    "DATASOURCE_UID",
    "OVERLAYS",
    "SBOM_FILE",
    "AlertSettings",
    "ComposeSettings",
    "Metric",
    "ModelDeployment",
    "Overlay",
    "Resources",
    "StackSettings",
    "alert_rules",
    "compose_file",
    "dashboard_expressions",
    "dashboards",
    "dockerfile",
    "dump_all",
    "dump_one",
    "in_namespace",
    "inference_service",
    "known_series",
    "model_manifests",
    "pinned_requirements",
    "prometheus_config",
    "queried_metrics",
    "render_overlay",
    "rule_expressions",
    "sbom_json",
    "scheduler_manifests",
    "server_manifests",
    "settings_from_outputs",
    "write_kustomize",
    "write_sbom",
    "write_stack",
    "write_terraform",
]
