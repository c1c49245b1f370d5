"""The Kubernetes manifests: valid against the API schemas, hardened, and the Kustomize
overlays render the same with kubectl as in Python."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from shipyard.deploy import (
    OVERLAYS,
    ModelDeployment,
    Resources,
    StackSettings,
    dump_all,
    in_namespace,
    inference_service,
    model_manifests,
    render_overlay,
    server_manifests,
    write_kustomize,
)
from shipyard.errors import InvalidArgument


def _containers(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    if manifest["kind"] == "Deployment":
        return list(manifest["spec"]["template"]["spec"]["containers"])
    if manifest["kind"] == "InferenceService":
        return list(manifest["spec"]["predictor"]["containers"])
    return []


def _everything(stack: StackSettings) -> list[dict[str, Any]]:
    model = ModelDeployment("churn@champion")
    out = [m for overlay in OVERLAYS for m in render_overlay(stack, overlay, [model])]
    return [*out, inference_service(stack, model)]


def test_every_manifest_validates_against_its_schema(stack, validate_manifests):
    validate_manifests(_everything(stack))


def test_every_container_is_hardened_sized_and_probed(stack):
    containers = [c for m in _everything(stack) for c in _containers(m)]
    assert {c["name"] for c in containers} == {
        "server",
        "scheduler",
        "model",
        "kserve-container",
    }
    for c in containers:
        security = c["securityContext"]
        assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"], c["name"]
        assert not security["privileged"] and not security["allowPrivilegeEscalation"]
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert set(c["resources"]) == {"requests", "limits"}
        assert ":latest" not in c["image"]
        paths = {c[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")}
        assert paths in ({"/healthz", "/readyz"}, {"/v2/health/live", "/v2/health/ready"},
                         {"/healthz"}), c["name"]  # fmt: skip
        env = {e["name"]: e for e in c["env"]}
        for secret in ("SHIPYARD_DB_URL", "SHIPYARD_TOKEN", "AWS_SECRET_ACCESS_KEY"):
            if secret in env:  # secrets come from the Secret, never as values
                assert "value" not in env[secret] and "secretKeyRef" in env[secret]["valueFrom"]


def test_the_scheduler_never_runs_twice(stack):
    (deployment,) = [
        m for m in render_overlay(stack, OVERLAYS[1])
        if m["kind"] == "Deployment" and m["metadata"]["name"] == "shipyard-scheduler"
    ]  # fmt: skip
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_prometheus_scrapes_the_scheduler_s_pipeline_metrics(stack):
    rendered = render_overlay(stack, OVERLAYS[1])
    scheduler = [m for m in rendered if m["metadata"]["name"] == "shipyard-scheduler"]
    kinds = {m["kind"]: m for m in scheduler}
    assert set(kinds) == {"Deployment", "Service", "NetworkPolicy", "ServiceMonitor"}
    (container,) = kinds["Deployment"]["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[args.index("--metrics-port") + 1] == str(stack.scheduler_metrics_port)
    assert args[args.index("--metrics-host") + 1] == "0.0.0.0"
    assert container["ports"][0]["containerPort"] == stack.scheduler_metrics_port
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert kinds["ServiceMonitor"]["spec"]["endpoints"][0]["path"] == "/metrics"
    (ingress,) = kinds["NetworkPolicy"]["spec"]["ingress"]
    assert ingress["ports"] == [{"port": stack.scheduler_metrics_port, "protocol": "TCP"}]


def _server_monitor(stack: StackSettings) -> dict[str, Any]:
    (monitor,) = [m for m in server_manifests(stack) if m["kind"] == "ServiceMonitor"]
    return monitor


def test_prometheus_scrapes_the_server_with_the_optional_metrics_token(stack, validate_manifests):
    monitor = _server_monitor(stack)
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["authorization"] == {
        "type": "Bearer",
        "credentials": {"name": "shipyard-metrics-token", "key": "token", "optional": True},
    }
    validate_manifests([monitor])
    # the CRD schema check would catch a misspelt field of the block
    endpoint["authorization"]["credentials"]["optinal"] = True
    with pytest.raises(AssertionError, match="optinal"):
        validate_manifests([monitor])
    # the scheduler and model servers are scraped without it; without auth, so is the server
    for manifest in _everything(stack):
        if manifest["kind"] == "ServiceMonitor" and "server" not in manifest["metadata"]["name"]:
            assert "authorization" not in manifest["spec"]["endpoints"][0], manifest
    (open_endpoint,) = _server_monitor(StackSettings(auth=False))["spec"]["endpoints"]
    assert "authorization" not in open_endpoint


def test_the_model_server_follows_its_alias_through_the_server(stack):
    manifests = model_manifests(stack, ModelDeployment("churn@champion", max_batch_size=32))
    kinds = {m["kind"] for m in manifests}
    assert kinds == {
        "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
        "NetworkPolicy", "ServiceMonitor",
    }  # fmt: skip
    (container,) = _containers(manifests[0])
    assert container["args"][:2] == ["serve", "churn@champion"]
    assert container["args"][-2:] == ["--max-batch-size", "32"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["SHIPYARD_TRACKING_URI"] == "http://shipyard-server:8080"
    assert manifests[0]["metadata"]["name"] == "model-churn-champion"


def test_the_inference_service_runs_the_same_server_on_kserve_port(stack):
    isvc = inference_service(stack, ModelDeployment("churn/3", min_replicas=1, max_replicas=2))
    assert isvc["metadata"]["name"] == "model-churn-v3"
    predictor = isvc["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 2)
    (container,) = predictor["containers"]
    assert container["ports"][0]["containerPort"] == 8080
    assert container["args"][:2] == ["serve", "churn/3"]


def test_overlays_render_the_same_with_kubectl(stack, tmp_path, kubectl, load_yaml):
    models = [ModelDeployment("churn@champion"), ModelDeployment("fraud/3")]
    write_kustomize(stack, tmp_path, models)
    for overlay in OVERLAYS:
        out = subprocess.run(
            [kubectl, "kustomize", str(tmp_path / "overlays" / overlay.name)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        (tmp_path / "out.yaml").write_text(out)
        by_kubectl = {
            (m["kind"], m["metadata"]["name"]): m for m in load_yaml(tmp_path / "out.yaml")
        }
        python = render_overlay(stack, overlay, models)
        by_python = {(m["kind"], m["metadata"]["name"]): m for m in python}
        assert by_kubectl == by_python, overlay.name
        assert ("HorizontalPodAutoscaler", "model-fraud-v3") in by_kubectl


def test_prod_overlay_changes_namespace_replicas_and_limits(stack):
    prod = {(m["kind"], m["metadata"]["name"]): m for m in render_overlay(stack, OVERLAYS[1])}
    server = prod[("Deployment", "shipyard-server")]
    assert {m["metadata"]["namespace"] for m in prod.values()} == {"shipyard"}
    assert server["spec"]["replicas"] == 3
    (container,) = server["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"  # the patch kept the rest


@pytest.mark.slow
def test_checkov_finds_no_policy_failure(stack, tmp_path, checkov):
    model = ModelDeployment("churn@champion")
    for overlay in OVERLAYS:
        rendered = render_overlay(stack, overlay, [model])
        (tmp_path / f"{overlay.name}.yaml").write_text(dump_all(rendered))
    (tmp_path / "kserve.yaml").write_text(
        dump_all(in_namespace([inference_service(stack, model)], "shipyard"))
    )
    report = checkov(tmp_path, "kubernetes")
    assert report["failed"] == [] and report["passed"] > 100


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: StackSettings(image="shipyard:latest"), "image"),
        (lambda: StackSettings(image="shipyard"), "image"),
        (lambda: StackSettings(name="Shipyard_Prod"), "name"),
        (lambda: StackSettings(server_port=0), "server_port"),
        (lambda: StackSettings(server_replicas=0), "server_replicas"),
        (lambda: Resources(cpu_limit="lots"), "cpu_limit"),
        (lambda: Resources(memory_request="1 GB"), "memory_request"),
        (lambda: ModelDeployment("churn"), "model"),
        (lambda: ModelDeployment("runs:/abc/model"), "model"),
        (lambda: ModelDeployment("churn@champion", min_replicas=3, max_replicas=2), "max_replicas"),
        (lambda: ModelDeployment("churn@champion", target_cpu=150), "target_cpu"),
    ],
)
def test_bad_settings_fail_naming_the_field(make, field):
    with pytest.raises(InvalidArgument) as caught:
        make()
    assert caught.value.field == field


def test_write_kustomize_writes_base_models_and_overlays(stack, tmp_path: Path, load_yaml):
    write_kustomize(stack, tmp_path, [ModelDeployment("churn@champion")])
    base = load_yaml(tmp_path / "base" / "kustomization.yaml")[0]
    assert base["resources"] == ["server.yaml", "scheduler.yaml"]
    model = load_yaml(tmp_path / "models" / "model-churn-champion" / "model.yaml")
    assert model[0]["kind"] == "Deployment"
    prod = load_yaml(tmp_path / "overlays" / "prod" / "kustomization.yaml")[0]
    assert prod["namespace"] == "shipyard"
    assert prod["resources"] == ["../../base", "../../models/model-churn-champion"]
    assert (tmp_path / "overlays" / "prod" / "server-resources.yaml").exists()
