"""The compose file of the team stack, with Prometheus and Grafana provisioned.

Services: PostgreSQL (metadata), MinIO (S3-compatible blobs, a versioned bucket created by a
one-shot ``minio-init``), Redis (online features), the Shipyard server, the scheduler, one
model server following ``model.ref`` (``churn@champion``), Prometheus scraping the server, the
scheduler and the model server with the alert rules loaded, and Grafana with the Prometheus
datasource and the dashboards provisioned. Secrets come from a ``.env`` file beside the compose file
(``.env.example`` lists them); compose refuses to start while one is missing, except the
API token, which exists only once the server has run (docs/deploy.md). Prometheus scrapes
the server with the token in ``prometheus/metrics-token`` (a viewer's, for the feature
materialization times); the folder's ``.gitignore`` keeps it and ``.env`` out of git.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipyard.deploy._k8s import RUN_AS, model_args, scheduler_args
from shipyard.deploy._settings import ModelDeployment, StackSettings, check_image

#: The third-party images, pinned by tag.
IMAGES = {
    "postgres": "postgres:16.4-alpine",
    "minio": "minio/minio:RELEASE.2025-04-22T22-12-26Z",
    "mc": "minio/mc:RELEASE.2025-04-16T18-13-26Z",
    "redis": "redis:7.4-alpine",
    "prometheus": "prom/prometheus:v2.55.1",
    "grafana": "grafana/grafana:11.3.0",
}
BUCKET = "shipyard"
#: The variables ``.env`` must define (``${NAME:?}`` in the compose file).
ENV_VARIABLES = {
    "POSTGRES_PASSWORD": "password of the shipyard database user",
    "MINIO_ROOT_USER": "MinIO access key (also the server's AWS_ACCESS_KEY_ID)",
    "MINIO_ROOT_PASSWORD": "MinIO secret key (also the server's AWS_SECRET_ACCESS_KEY)",
    "SHIPYARD_TOKEN": "API token of the scheduler and the model server (shipyard tokens "
    "create; may stay empty until the server has started once)",
    "GRAFANA_ADMIN_PASSWORD": "password of Grafana's admin user",
}

#: The file (in the compose folder) holding the token Prometheus scrapes the server with,
#: and where the Prometheus container sees it (``./prometheus`` is mounted read-only).
METRICS_TOKEN_FILE = "prometheus/metrics-token"
METRICS_TOKEN_PATH = "/etc/prometheus/metrics-token"


@dataclass(frozen=True)
class ComposeSettings:
    """The compose stack: the Shipyard image settings and the model it serves."""

    stack: StackSettings = field(default_factory=lambda: StackSettings(server_workers=2))
    model: ModelDeployment = field(default_factory=lambda: ModelDeployment("churn@champion"))
    images: dict[str, str] = field(default_factory=lambda: dict(IMAGES))

    def __post_init__(self) -> None:
        for image in self.images.values():
            check_image(image)


def _need(name: str) -> str:
    return f"${{{name}:?set {name} in .env}}"


def _command_check(*test: str) -> dict[str, Any]:
    """A health check running ``test`` in the container every 5 seconds."""
    return {"test": ["CMD", *test], "interval": "5s", "timeout": "5s", "retries": 10}


def _http_check(port: int, path: str) -> dict[str, Any]:
    probe = f"import urllib.request as u; u.urlopen('http://127.0.0.1:{port}{path}', timeout=4)"
    return {
        "test": ["CMD", "python", "-c", probe],
        "interval": "15s",
        "timeout": "5s",
        "retries": 5,
        "start_period": "30s",
    }


def _hardened(service: dict[str, Any]) -> dict[str, Any]:
    """A Shipyard service: non-root, read-only root file system, ``/tmp`` in memory."""
    return {
        **service,
        "user": f"{RUN_AS}:{RUN_AS}",
        "read_only": True,
        "tmpfs": ["/tmp"],
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "restart": "unless-stopped",
    }


def compose_file(settings: ComposeSettings) -> dict[str, Any]:
    """The compose document."""
    stack, images = settings.stack, settings.images
    s3 = {
        "SHIPYARD_ARTIFACTS_URI": f"s3://{BUCKET}/blobs",
        "SHIPYARD_S3_ENDPOINT_URL": "http://minio:9000",
        "AWS_ACCESS_KEY_ID": _need("MINIO_ROOT_USER"),
        "AWS_SECRET_ACCESS_KEY": _need("MINIO_ROOT_PASSWORD"),
    }
    client = {
        "SHIPYARD_TRACKING_URI": f"http://server:{stack.server_port}",
        "SHIPYARD_TOKEN": "${SHIPYARD_TOKEN:-}",  # created after the server's first start
    }
    shipyard_image = {
        "image": stack.image,
        "build": {"context": "../..", "dockerfile": "deploy/docker/Dockerfile"},
    }
    healthy = {"condition": "service_healthy"}
    services: dict[str, Any] = {
        "postgres": {
            "image": images["postgres"],
            "environment": {
                "POSTGRES_USER": "shipyard",
                "POSTGRES_DB": "shipyard",
                "POSTGRES_PASSWORD": _need("POSTGRES_PASSWORD"),
            },
            "volumes": ["postgres:/var/lib/postgresql/data"],
            "healthcheck": _command_check("pg_isready", "-U", "shipyard"),
            "restart": "unless-stopped",
        },
        "minio": {
            "image": images["minio"],
            "command": ["server", "/data", "--console-address", ":9001"],
            "environment": {
                "MINIO_ROOT_USER": _need("MINIO_ROOT_USER"),
                "MINIO_ROOT_PASSWORD": _need("MINIO_ROOT_PASSWORD"),
            },
            "volumes": ["minio:/data"],
            "healthcheck": _command_check("mc", "ready", "local"),
            "restart": "unless-stopped",
        },
        "minio-init": {
            "image": images["mc"],
            "depends_on": {"minio": healthy},
            "entrypoint": ["/bin/sh", "-c"],
            "command": [
                "mc alias set local http://minio:9000 \"$$MINIO_ROOT_USER\" "
                f"\"$$MINIO_ROOT_PASSWORD\" && mc mb --ignore-existing local/{BUCKET} && "
                f"mc version enable local/{BUCKET}"
            ],
            "environment": {
                "MINIO_ROOT_USER": _need("MINIO_ROOT_USER"),
                "MINIO_ROOT_PASSWORD": _need("MINIO_ROOT_PASSWORD"),
            },
            "restart": "no",
        },
        "redis": {
            "image": images["redis"],
            "command": ["redis-server", "--save", "60", "1", "--appendonly", "yes"],
            "volumes": ["redis:/data"],
            "healthcheck": _command_check("redis-cli", "ping"),
            "restart": "unless-stopped",
        },
        "server": _hardened({
            **shipyard_image,
            "command": ["server", "--host", "0.0.0.0", "--port", str(stack.server_port),
                        "--workers", str(stack.server_workers)],
            "environment": {
                "SHIPYARD_DB_URL": "postgresql+psycopg://shipyard:${POSTGRES_PASSWORD:?set "
                                   "POSTGRES_PASSWORD in .env}@postgres:5432/shipyard",
                "SHIPYARD_ONLINE_STORE": "redis://redis:6379/0",
                "SHIPYARD_SERVER_AUTH": "1" if stack.auth else "0",
                **s3,
            },
            "ports": [f"127.0.0.1:{stack.server_port}:{stack.server_port}"],
            "depends_on": {"postgres": healthy, "redis": healthy,
                           "minio-init": {"condition": "service_completed_successfully"}},
            "healthcheck": _http_check(stack.server_port, "/readyz"),
        }),
        "scheduler": _hardened({
            **shipyard_image,
            "command": scheduler_args(stack),
            "environment": client,
            "depends_on": {"server": healthy},
            "healthcheck": _http_check(stack.scheduler_metrics_port, "/healthz"),
        }),
        "model": _hardened({
            **shipyard_image,
            "command": model_args(settings.model, stack.model_port),
            "environment": client,
            "ports": [f"127.0.0.1:{stack.model_port}:{stack.model_port}"],
            "depends_on": {"server": healthy},
            "healthcheck": _http_check(stack.model_port, "/v2/health/ready"),
        }),
        "prometheus": {
            "image": images["prometheus"],
            "command": ["--config.file=/etc/prometheus/prometheus.yml",
                        "--storage.tsdb.path=/prometheus"],
            "volumes": ["./prometheus:/etc/prometheus:ro", "prometheus:/prometheus"],
            "ports": ["127.0.0.1:9090:9090"],
            "restart": "unless-stopped",
        },
        "grafana": {
            "image": images["grafana"],
            "environment": {
                "GF_SECURITY_ADMIN_PASSWORD": _need("GRAFANA_ADMIN_PASSWORD"),
                "GF_AUTH_ANONYMOUS_ENABLED": "false",
            },
            "volumes": ["./grafana/provisioning:/etc/grafana/provisioning:ro",
                        "./grafana/dashboards:/var/lib/grafana/dashboards:ro",
                        "grafana:/var/lib/grafana"],
            "ports": ["127.0.0.1:3000:3000"],
            "depends_on": ["prometheus"],
            "restart": "unless-stopped",
        },
    }  # fmt: skip
    volumes: dict[str, Any] = {
        name: {} for name in ("postgres", "minio", "redis", "prometheus", "grafana")
    }
    return {"name": "shipyard", "services": services, "volumes": volumes}


def prometheus_config(settings: ComposeSettings) -> dict[str, Any]:
    """Prometheus's configuration: scrape the server, the scheduler and the model server,
    load the rules. The server is scraped with the token in ``prometheus/metrics-token``
    (re-read at every scrape; empty, the scrape still gets the request metrics but no
    feature materialization times, which need a token that may read the projects)."""
    stack = settings.stack
    return {
        "global": {"scrape_interval": "15s", "evaluation_interval": "30s"},
        "rule_files": ["alerts.yml"],
        "scrape_configs": [
            {"job_name": "shipyard-server",
             "authorization": {"type": "Bearer", "credentials_file": METRICS_TOKEN_PATH},
             "static_configs": [{"targets": [f"server:{stack.server_port}"]}]},
            {"job_name": "shipyard-scheduler",
             "static_configs": [{"targets": [f"scheduler:{stack.scheduler_metrics_port}"]}]},
            {"job_name": settings.model.app_name,
             "static_configs": [{"targets": [f"model:{stack.model_port}"]}]},
            {"job_name": "prometheus", "static_configs": [{"targets": ["localhost:9090"]}]},
        ],
    }  # fmt: skip


def gitignore() -> str:
    """The compose folder's ``.gitignore``: the stack's secrets, never to be committed."""
    return (
        "# Secrets of the stack: the passwords, and the token Prometheus scrapes the server with.\n"
        f".env\n{METRICS_TOKEN_FILE}\n"
    )


def grafana_datasource() -> dict[str, Any]:
    """The provisioned Prometheus datasource (uid ``prometheus``, what the panels read)."""
    from shipyard.deploy._dashboards import DATASOURCE_UID

    return {
        "apiVersion": 1,
        "datasources": [
            {"name": "Prometheus", "type": "prometheus", "uid": DATASOURCE_UID,
             "access": "proxy", "url": "http://prometheus:9090", "isDefault": True,
             "editable": False},
        ],
    }  # fmt: skip


def grafana_dashboard_provider() -> dict[str, Any]:
    """The provider that loads the dashboards' JSON files into a Shipyard folder."""
    return {
        "apiVersion": 1,
        "providers": [
            {"name": "shipyard", "folder": "Shipyard", "type": "file",
             "disableDeletion": True, "allowUiUpdates": False,
             "options": {"path": "/var/lib/grafana/dashboards"}},
        ],
    }  # fmt: skip


def env_example() -> str:
    """The ``.env.example`` listing every variable the compose file needs."""
    lines = ["# Copy to .env and fill in (SHIPYARD_TOKEN after the server's first start)."]
    for name, what in ENV_VARIABLES.items():
        lines += [f"# {what}", f"{name}="]
    return "\n".join(lines) + "\n"
