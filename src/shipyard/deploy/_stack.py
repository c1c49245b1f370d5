"""Write every deployment file of the team stack into one folder (the repository's
``deploy/`` is this output, kept in sync by a test)::

    docker/Dockerfile                       the Shipyard image
    compose/compose.yaml, .env.example      the compose stack
    compose/.gitignore                      keeps .env and the metrics token out of git
    compose/prometheus/                     prometheus.yml, alerts.yml and metrics-token
                                            (empty; written only when missing)
    compose/grafana/                        provisioning (datasource, dashboards) and JSON
    k8s/base, k8s/models/<name>, k8s/overlays/{dev,prod}    Kustomize
    terraform/aws/                          the AWS module of the team stack
"""

from __future__ import annotations

import json
from pathlib import Path

from shipyard.deploy._compose import (
    METRICS_TOKEN_FILE,
    ComposeSettings,
    compose_file,
    env_example,
    gitignore,
    grafana_dashboard_provider,
    grafana_datasource,
    prometheus_config,
)
from shipyard.deploy._dashboards import dashboards
from shipyard.deploy._image import dockerfile
from shipyard.deploy._kustomize import write_kustomize
from shipyard.deploy._rules import AlertSettings, alert_rules
from shipyard.deploy._terraform import write_terraform
from shipyard.deploy._yaml import dump_one

_HEADER = "# Rendered by Shipyard (shipyard deploy stack); edit the settings, then render again.\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_stack(
    folder: str | Path,
    settings: ComposeSettings | None = None,
    alerts: AlertSettings | None = None,
) -> list[Path]:
    """Write the stack's files under ``folder``; returns the files of the stack, sorted.

    ``compose/prometheus/metrics-token`` is written empty only when it does not exist: it
    holds the token the user put there for Prometheus, which a new render must keep."""
    root = Path(folder)
    settings = settings or ComposeSettings()
    rules = alert_rules(alerts or AlertSettings())
    compose = root / "compose"
    _write(root / "docker" / "Dockerfile", dockerfile(settings.stack))
    _write(compose / "compose.yaml", _HEADER + dump_one(compose_file(settings)))
    _write(compose / ".env.example", env_example())
    _write(compose / ".gitignore", gitignore())
    token = compose / METRICS_TOKEN_FILE
    if not token.exists():  # the user's token, once written, is never replaced
        _write(token, "")
    _write(
        compose / "prometheus" / "prometheus.yml", _HEADER + dump_one(prometheus_config(settings))
    )
    _write(compose / "prometheus" / "alerts.yml", _HEADER + dump_one(rules))
    provisioning = compose / "grafana" / "provisioning"
    _write(provisioning / "datasources" / "prometheus.yaml", dump_one(grafana_datasource()))
    _write(provisioning / "dashboards" / "shipyard.yaml", dump_one(grafana_dashboard_provider()))
    for name, board in dashboards().items():
        _write(compose / "grafana" / "dashboards" / name, json.dumps(board, indent=2) + "\n")
    write_kustomize(settings.stack, root / "k8s", [settings.model])
    write_terraform(root / "terraform" / "aws")
    return sorted(p for p in root.rglob("*") if p.is_file())
