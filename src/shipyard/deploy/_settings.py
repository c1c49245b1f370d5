"""Typed settings of what gets deployed: the image, the services' sizes, a model to serve.

Every value that ends up in a manifest, a compose file or a dashboard passes through these
dataclasses first, so a bad name or size fails here with the field named, not later in
``kubectl apply``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shipyard.errors import InvalidArgument
from shipyard.registry import ModelRef, parse_ref

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_CPU = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$")
_MEMORY = re.compile(r"^[0-9]+(Ki|Mi|Gi|Ti|K|M|G|T)?$")
_IMAGE = re.compile(r"^[a-z0-9]+([._/:@-][a-zA-Z0-9_.-]+)*$")
#: Ports a Kubernetes Service or container may use.
_PORTS = range(1, 65536)


def check_dns_label(value: str, field_name: str) -> str:
    """A Kubernetes object name part: at most 63 lowercase letters, digits and ``-``."""
    if not isinstance(value, str) or len(value) > 63 or not _DNS_LABEL.match(value):
        raise InvalidArgument(
            f"{field_name} {value!r} is not a valid Kubernetes name: use at most 63 lowercase "
            "letters, digits and '-', starting and ending with a letter or digit",
            field=field_name,
        )
    return value


def dns_name(text: str) -> str:
    """``text`` as a Kubernetes name part (lowercase, ``_`` and ``.`` become ``-``)."""
    return re.sub(r"[^a-z0-9-]", "-", text.lower()).strip("-")[:63].rstrip("-")


def _check_port(port: int, field_name: str) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or port not in _PORTS:
        raise InvalidArgument(
            f"{field_name} must be a port 1-65535, got {port!r}", field=field_name
        )
    return port


def _check_count(value: int, field_name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArgument(
            f"{field_name} must be an integer from {low} to {high}, got {value!r}",
            field=field_name,
        )
    return value


@dataclass(frozen=True)
class Resources:
    """CPU and memory a container asks for (requests) and may use at most (limits)."""

    cpu_request: str = "250m"
    memory_request: str = "512Mi"
    cpu_limit: str = "1"
    memory_limit: str = "1Gi"

    def __post_init__(self) -> None:
        for name in ("cpu_request", "cpu_limit"):
            if not _CPU.match(str(getattr(self, name))):
                raise InvalidArgument(
                    f"{name} {getattr(self, name)!r} is not a CPU quantity (e.g. 250m or 1)",
                    field=name,
                )
        for name in ("memory_request", "memory_limit"):
            if not _MEMORY.match(str(getattr(self, name))):
                raise InvalidArgument(
                    f"{name} {getattr(self, name)!r} is not a memory quantity (e.g. 512Mi)",
                    field=name,
                )

    def as_k8s(self) -> dict[str, dict[str, str]]:
        """The ``resources`` block of a container."""
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


@dataclass(frozen=True)
class StackSettings:
    """The team stack: one image for the server, the scheduler and model servers.

    Args:
        image: the Shipyard image (``repository:tag``; never ``latest``).
        name: prefix of every object name (``shipyard`` -> ``shipyard-server``).
        secret: the Kubernetes Secret holding ``SHIPYARD_DB_URL``, the S3 keys and the
            token (created by the operator, never rendered with values).
        server_port: the server's port.
        model_port: the port the model servers listen on.
        scheduler_metrics_port: the port of the scheduler's ``/metrics`` and ``/healthz``.
        server_replicas: server replicas (the scheduler always runs exactly one).
        server_workers: uvicorn workers per server replica.
        artifacts_uri: where blobs go (``s3://bucket/prefix``).
        s3_endpoint_url: an S3-compatible endpoint (MinIO); empty for AWS.
        online_store: the online feature store (``redis://host:6379/0``).
        auth: whether the server requires API tokens.
        server_resources: CPU and memory requests and limits of a server replica.
        scheduler_resources: CPU and memory requests and limits of the scheduler.
    """

    image: str = "shipyard:0.1.0"
    name: str = "shipyard"
    secret: str = "shipyard-secrets"
    server_port: int = 8080
    model_port: int = 8000
    scheduler_metrics_port: int = 9108
    server_replicas: int = 2
    server_workers: int = 2
    artifacts_uri: str = "s3://shipyard-artifacts/blobs"
    s3_endpoint_url: str = ""
    online_store: str = ""
    auth: bool = True
    server_resources: Resources = field(default_factory=Resources)
    scheduler_resources: Resources = field(
        default_factory=lambda: Resources("100m", "256Mi", "1", "1Gi")
    )

    def __post_init__(self) -> None:
        check_image(self.image)
        check_dns_label(self.name, "name")
        check_dns_label(self.secret, "secret")
        _check_port(self.server_port, "server_port")
        _check_port(self.model_port, "model_port")
        _check_port(self.scheduler_metrics_port, "scheduler_metrics_port")
        _check_count(self.server_replicas, "server_replicas", 1, 100)
        _check_count(self.server_workers, "server_workers", 1, 64)

    @property
    def server_name(self) -> str:
        """The server's Deployment and Service name."""
        return f"{self.name}-server"

    @property
    def server_url(self) -> str:
        """The server's address inside the cluster (or the compose network)."""
        return f"http://{self.server_name}:{self.server_port}"


def check_image(image: str) -> str:
    """An image reference with an explicit tag or digest (``latest`` is refused)."""
    if not isinstance(image, str) or not _IMAGE.match(image):
        raise InvalidArgument(f"image {image!r} is not an image reference", field="image")
    last = image.rsplit("/", 1)[-1]
    if "@sha256:" not in image and (":" not in last or last.endswith(":latest")):
        raise InvalidArgument(
            f"image {image!r} needs a fixed tag or digest (not 'latest'), e.g. shipyard:0.1.0",
            field="image",
        )
    return image


@dataclass(frozen=True)
class ModelDeployment:
    """A model server that follows a registered model (``churn@champion``) through the server.

    Args:
        ref: the reference the server follows: ``NAME@ALIAS`` (swaps when the alias moves)
            or ``NAME/VERSION``.
        min_replicas: the fewest replicas the autoscaler keeps.
        max_replicas: the most replicas the autoscaler starts.
        target_cpu: the average CPU use (percent of the request) the autoscaler aims at.
        max_batch_size: rows per model call (``shipyard serve --max-batch-size``).
        resources: the model container's requests and limits.
    """

    ref: str
    min_replicas: int = 2
    max_replicas: int = 10
    target_cpu: int = 70
    max_batch_size: int = 64
    resources: Resources = field(default_factory=Resources)

    def __post_init__(self) -> None:
        parsed = self.parsed
        if parsed.name is None:
            raise InvalidArgument(
                f"{self.ref!r}: deploy a registered model (NAME@ALIAS or NAME/VERSION), "
                "not a run's model",
                field="model",
            )
        _check_count(self.min_replicas, "min_replicas", 1, 1000)
        _check_count(self.max_replicas, "max_replicas", self.min_replicas, 1000)
        _check_count(self.target_cpu, "target_cpu", 1, 100)
        _check_count(self.max_batch_size, "max_batch_size", 1, 100_000)

    @property
    def parsed(self) -> ModelRef:
        """The parsed reference."""
        return parse_ref(self.ref)

    @property
    def app_name(self) -> str:
        """The Kubernetes name of this model server: ``model-churn-champion``."""
        ref = self.parsed
        which = ref.alias if ref.alias else f"v{ref.version}"
        return check_dns_label(dns_name(f"model-{ref.name}-{which}"), "model")
