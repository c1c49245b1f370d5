"""Kubernetes objects of the team stack and of a model server, as plain dictionaries.

Every container runs as a non-root user on a read-only root file system (``/tmp`` is an
``emptyDir``, where ``SHIPYARD_HOME`` and the Prometheus multiprocess folder live), drops
every capability, sets requests and limits, and is probed on the services' real endpoints:
``/healthz`` and ``/readyz`` for the server, ``/v2/health/live`` and ``/v2/health/ready`` for
a model server. Secrets (database URL, S3 keys, the API token) are referenced by name from
one Secret the operator creates; values never appear in a rendered file.

Policy checks a service cannot meet carry a ``checkov.io/skip`` annotation with the reason,
so the exceptions are written down next to the object they concern.
"""

from __future__ import annotations

from typing import Any

from shipyard.deploy._settings import ModelDeployment, StackSettings, check_dns_label

Manifest = dict[str, Any]
#: The user and group the images run as (a high UID, not in the host's range).
RUN_AS = 10001
_PART_OF = "shipyard"
#: Secret keys the services read (all optional but the database URL for the server).
SECRET_KEYS = {
    "SHIPYARD_DB_URL": False,
    "SHIPYARD_TOKEN": True,
    "AWS_ACCESS_KEY_ID": True,
    "AWS_SECRET_ACCESS_KEY": True,
}
_SKIPS_COMMON = {
    "CKV_K8S_43": "images are pinned by tag in the base; set a digest in your overlay's images",
    "CKV_K8S_35": "Shipyard reads its settings from SHIPYARD_* variables, not files",
}


def labels(component: str, instance: str) -> dict[str, str]:
    """The recommended ``app.kubernetes.io`` labels of one component."""
    return {
        "app.kubernetes.io/name": instance,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": _PART_OF,
    }


def _selector(instance: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": instance}


def _meta(name: str, component: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "labels": labels(component, name), **extra}


def _skips(extra: dict[str, str] | None = None) -> dict[str, str]:
    """checkov skip annotations (``checkov.io/skipN: CHECK=reason``)."""
    reasons = {**_SKIPS_COMMON, **(extra or {})}
    return {f"checkov.io/skip{i}": f"{k}={v}" for i, (k, v) in enumerate(reasons.items(), 1)}


def _secret_env(secret: str, keys: dict[str, bool]) -> list[dict[str, Any]]:
    return [
        {
            "name": key,
            "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": optional}},
        }
        for key, optional in keys.items()
    ]


def _http_probe(path: str, port: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def container(
    name: str,
    image: str,
    args: list[str],
    env: list[dict[str, Any]],
    resources: dict[str, Any],
    *,
    port: int | None = None,
    live: str | None = None,
    ready: str | None = None,
    env_from: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A hardened container: non-root, read-only root, no capabilities, probed when it
    listens (a startup probe gives a slow model load time before liveness counts)."""
    spec: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": "Always",
        "args": args,
        "env": env,
        "resources": resources,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if env_from:
        spec["envFrom"] = env_from
    if port is not None:
        spec["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    if live and ready:
        spec["startupProbe"] = _http_probe(live, "http", 5, 60)
        spec["livenessProbe"] = _http_probe(live, "http", 10, 3)
        spec["readinessProbe"] = _http_probe(ready, "http", 5, 3)
    return spec


def pod_spec(containers: list[dict[str, Any]]) -> dict[str, Any]:
    """A pod with no service-account token, a non-root security context and ``/tmp``."""
    return {
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": containers,
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
    }


def _deployment(
    name: str,
    component: str,
    replicas: int,
    pod: dict[str, Any],
    *,
    strategy: dict[str, Any] | None = None,
    skips: dict[str, str] | None = None,
) -> Manifest:
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": _selector(name)},
        "template": {"metadata": {"labels": labels(component, name)}, "spec": pod},
    }
    if strategy:
        spec["strategy"] = strategy
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, component, annotations=_skips(skips)),
        "spec": spec,
    }


def _service(name: str, component: str, port: int) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, component),
        "spec": {
            "type": "ClusterIP",
            "selector": _selector(name),
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def _pdb(name: str, component: str) -> Manifest:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(name, component),
        "spec": {"minAvailable": 1, "selector": {"matchLabels": _selector(name)}},
    }


def _network_policy(name: str, component: str, port: int | None) -> Manifest:
    """Only pods of the same namespace (Shipyard's services, Prometheus) reach the port;
    with no port, nothing may connect to the pods at all."""
    ingress = [{"from": [{"podSelector": {}}], "ports": [{"port": port, "protocol": "TCP"}]}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(name, component),
        "spec": {
            "podSelector": {"matchLabels": _selector(name)},
            "policyTypes": ["Ingress"],
            "ingress": ingress if port is not None else [],
        },
    }


def service_monitor(name: str, component: str, token_secret: str = "") -> Manifest:
    """A Prometheus-operator ServiceMonitor scraping ``/metrics`` of a Service; with
    ``token_secret``, as a bearer token read from that Secret's key ``token`` (optional:
    without the Secret the scrape goes without a token)."""
    endpoint: dict[str, Any] = {"port": "http", "path": "/metrics", "interval": "30s"}
    if token_secret:
        endpoint["authorization"] = {
            "type": "Bearer",
            "credentials": {"name": token_secret, "key": "token", "optional": True},
        }
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": _meta(name, component),
        "spec": {"selector": {"matchLabels": _selector(name)}, "endpoints": [endpoint]},
    }


def metrics_token_secret(stack: StackSettings) -> str:
    """The Secret whose key ``token`` Prometheus scrapes the server with (a viewer's token,
    so ``/metrics`` includes the feature materialization times); created by the operator."""
    return f"{stack.name}-metrics-token"


def config_map(stack: StackSettings) -> Manifest:
    """The settings that are not secret, shared by the server and the scheduler."""
    data = {
        "SHIPYARD_HOME": "/tmp/shipyard",
        "SHIPYARD_ARTIFACTS_URI": stack.artifacts_uri,
        "SHIPYARD_SERVER_AUTH": "1" if stack.auth else "0",
    }
    if stack.s3_endpoint_url:
        data["SHIPYARD_S3_ENDPOINT_URL"] = stack.s3_endpoint_url
    if stack.online_store:
        data["SHIPYARD_ONLINE_STORE"] = stack.online_store
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(f"{stack.name}-config", "config"),
        "data": data,
    }


def server_manifests(stack: StackSettings) -> list[Manifest]:
    """The server: Deployment, Service, ConfigMap, PodDisruptionBudget, NetworkPolicy and
    ServiceMonitor. It reads the database directly (``SHIPYARD_DB_URL`` from the Secret).
    With authentication on, Prometheus scrapes it with the token of the Secret
    ``metrics_token_secret(stack)``, when that exists."""
    name = stack.server_name
    args = ["server", "--host", "0.0.0.0", "--port", str(stack.server_port)]
    args += ["--workers", str(stack.server_workers)]
    main = container(
        "server",
        stack.image,
        args,
        _secret_env(stack.secret, SECRET_KEYS),
        stack.server_resources.as_k8s(),
        port=stack.server_port,
        live="/healthz",
        ready="/readyz",
        env_from=[{"configMapRef": {"name": f"{stack.name}-config"}}],
    )
    return [
        config_map(stack),
        _deployment(name, "server", stack.server_replicas, pod_spec([main])),
        _service(name, "server", stack.server_port),
        _pdb(name, "server"),
        _network_policy(name, "server", stack.server_port),
        service_monitor(name, "server", metrics_token_secret(stack) if stack.auth else ""),
    ]


def _client_env(stack: StackSettings) -> list[dict[str, Any]]:
    """A service that talks to the server: its address, and the token from the Secret."""
    return [
        {"name": "SHIPYARD_HOME", "value": "/tmp/shipyard"},
        {"name": "SHIPYARD_TRACKING_URI", "value": stack.server_url},
        *_secret_env(stack.secret, {"SHIPYARD_TOKEN": True}),
    ]


def scheduler_args(stack: StackSettings) -> list[str]:
    """The ``shipyard scheduler`` arguments: a check every 30 s, metrics on their port."""
    return [
        "scheduler", "--interval", "30", "--metrics-host", "0.0.0.0",
        "--metrics-port", str(stack.scheduler_metrics_port),
    ]  # fmt: skip


def scheduler_manifests(stack: StackSettings) -> list[Manifest]:
    """The scheduler: exactly one replica, replaced with the ``Recreate`` strategy so a
    rollout never runs two at once (the store's lease guards against a second one anyway).
    It goes through the server like any client, serves its pipeline metrics on
    ``/metrics`` (a Service and ServiceMonitor for Prometheus) and is probed on ``/healthz``,
    which fails once its loop hangs."""
    name = f"{stack.name}-scheduler"
    port = stack.scheduler_metrics_port
    main = container(
        "scheduler",
        stack.image,
        scheduler_args(stack),
        _client_env(stack),
        stack.scheduler_resources.as_k8s(),
        port=port,
        live="/healthz",
        ready="/healthz",
    )
    pod = pod_spec([main])
    return [
        _deployment(name, "scheduler", 1, pod, strategy={"type": "Recreate"}),
        _service(name, "scheduler", port),
        _network_policy(name, "scheduler", port),
        service_monitor(name, "scheduler"),
    ]


def in_namespace(manifests: list[Manifest], namespace: str | None) -> list[Manifest]:
    """``manifests`` with ``metadata.namespace`` set (unchanged for ``None``)."""
    if namespace is not None:
        check_dns_label(namespace, "namespace")
        for manifest in manifests:
            manifest["metadata"]["namespace"] = namespace
    return manifests


def model_manifests(stack: StackSettings, model: ModelDeployment) -> list[Manifest]:
    """A model server following ``model.ref``: Deployment, Service, HorizontalPodAutoscaler,
    PodDisruptionBudget, NetworkPolicy and ServiceMonitor, probed on the V2 health routes."""
    name = model.app_name
    main = container(
        "model",
        stack.image,
        model_args(model, stack.model_port),
        _client_env(stack),
        model.resources.as_k8s(),
        port=stack.model_port,
        live="/v2/health/live",
        ready="/v2/health/ready",
    )
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(name, "model"),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": model.min_replicas,
            "maxReplicas": model.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": model.target_cpu},
                    },
                }
            ],
        },
    }
    return [
        _deployment(name, "model", model.min_replicas, pod_spec([main])),
        _service(name, "model", stack.model_port),
        hpa,
        _pdb(name, "model"),
        _network_policy(name, "model", stack.model_port),
        service_monitor(name, "model"),
    ]


def model_args(model: ModelDeployment, port: int) -> list[str]:
    """The ``shipyard serve`` arguments of a model server."""
    return [
        "serve", model.ref, "--host", "0.0.0.0", "--port", str(port),
        "--max-batch-size", str(model.max_batch_size),
    ]  # fmt: skip


def inference_service(stack: StackSettings, model: ModelDeployment) -> Manifest:
    """A KServe ``InferenceService`` running the same image and command in a custom
    predictor container; Shipyard's server speaks the V2 (Open Inference) protocol."""
    name = model.app_name
    main = container(
        "kserve-container",
        stack.image,
        model_args(model, 8080),
        _client_env(stack),
        model.resources.as_k8s(),
        port=8080,
        live="/v2/health/live",
        ready="/v2/health/ready",
    )
    pod = pod_spec([main])
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": _meta(
            name,
            "model",
            annotations={
                "serving.kserve.io/deploymentMode": "RawDeployment",
                "serving.kserve.io/autoscalerClass": "hpa",
                "serving.kserve.io/metric": "cpu",
                "serving.kserve.io/targetUtilizationPercentage": str(model.target_cpu),
                **_skips(),
            },
        ),
        "spec": {
            "predictor": {
                "minReplicas": model.min_replicas,
                "maxReplicas": model.max_replicas,
                **pod,
            }
        },
    }
