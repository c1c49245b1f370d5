"""The compose stack: valid against the Compose specification, every service wired and
hardened, secrets only from .env, Prometheus and Grafana provisioned."""

from __future__ import annotations

import json
import shutil
import subprocess

import jsonschema
import pytest

from shipyard.deploy import ComposeSettings, compose_file, prometheus_config, write_stack


def test_the_compose_file_validates_against_the_specification(compose_schema):
    jsonschema.Draft7Validator(compose_schema).validate(compose_file(ComposeSettings()))


def test_the_schema_check_catches_a_misspelt_key(compose_schema):
    document = compose_file(ComposeSettings())
    document["services"]["server"]["enviroment"] = {}
    assert list(jsonschema.Draft7Validator(compose_schema).iter_errors(document))


def test_the_team_stack_has_every_service():
    services = compose_file(ComposeSettings())["services"]
    assert set(services) == {
        "postgres", "minio", "minio-init", "redis", "server", "scheduler", "model",
        "prometheus", "grafana",
    }  # fmt: skip
    assert services["model"]["command"][:2] == ["serve", "churn@champion"]
    assert services["server"]["environment"]["SHIPYARD_DB_URL"].startswith(
        "postgresql+psycopg://shipyard:${POSTGRES_PASSWORD:?"
    )
    assert services["server"]["environment"]["SHIPYARD_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert "mc version enable local/shipyard" in services["minio-init"]["command"][0]


def test_shipyard_services_are_hardened_and_probed():
    services = compose_file(ComposeSettings())["services"]
    for name in ("server", "scheduler", "model"):
        service = services[name]
        assert service["read_only"] is True and service["user"] == "10001:10001", name
        assert service["cap_drop"] == ["ALL"] and service["tmpfs"] == ["/tmp"]
    assert "/readyz" in services["server"]["healthcheck"]["test"][-1]
    assert "/v2/health/ready" in services["model"]["healthcheck"]["test"][-1]
    assert "9108/healthz" in services["scheduler"]["healthcheck"]["test"][-1]


def test_no_secret_is_written_into_the_file():
    text = json.dumps(compose_file(ComposeSettings()))
    for variable in ("POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        assert f"${{{variable}:?" in text
    services = compose_file(ComposeSettings())["services"]
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert published and all(p.startswith("127.0.0.1:") for p in published)


def test_prometheus_scrapes_the_server_scheduler_and_model_and_loads_the_rules():
    config = prometheus_config(ComposeSettings())
    targets = {
        t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]
    }
    assert {"server:8080", "model:8000", "scheduler:9108"} <= targets
    assert config["rule_files"] == ["alerts.yml"]


def test_the_stack_folder_holds_everything_compose_mounts(tmp_path, load_yaml):
    write_stack(tmp_path)
    compose = tmp_path / "compose"
    provisioning = compose / "grafana" / "provisioning"
    (source,) = load_yaml(provisioning / "datasources" / "prometheus.yaml")[0]["datasources"]
    assert source["uid"] == "prometheus" and source["url"] == "http://prometheus:9090"
    boards = sorted(p.name for p in (compose / "grafana" / "dashboards").glob("*.json"))
    assert boards == ["monitoring.json", "pipelines.json", "server.json", "serving.json"]
    assert (compose / "prometheus" / "alerts.yml").exists()
    env = (compose / ".env.example").read_text()
    assert "POSTGRES_PASSWORD=" in env and "SHIPYARD_TOKEN=" in env


def test_prometheus_scrapes_the_server_with_the_token_file_it_mounts():
    config = prometheus_config(ComposeSettings())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["shipyard-server"]["authorization"] == {
        "type": "Bearer",
        "credentials_file": "/etc/prometheus/metrics-token",
    }
    # the token is the server's only: no other target is sent it
    assert [name for name, job in jobs.items() if "authorization" in job] == ["shipyard-server"]
    prometheus = compose_file(ComposeSettings())["services"]["prometheus"]
    assert "./prometheus:/etc/prometheus:ro" in prometheus["volumes"]


def test_the_metrics_token_file_is_written_empty_once_and_never_overwritten(tmp_path):
    token = tmp_path / "compose" / "prometheus" / "metrics-token"
    assert token in write_stack(tmp_path)
    assert token.read_text() == ""
    token.write_text("shy_the-users-token\n")
    write_stack(tmp_path)
    assert token.read_text() == "shy_the-users-token\n"


def test_git_ignores_the_stack_secrets(tmp_path):
    git = shutil.which("git")
    if git is None:
        pytest.fail("git is not installed")
    write_stack(tmp_path)
    (tmp_path / "compose" / ".env").write_text("POSTGRES_PASSWORD=secret\n")
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    status = subprocess.run(
        [git, "status", "--porcelain", "--untracked-files=all", "compose"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    listed = {line[3:] for line in status.splitlines()}
    assert "compose/prometheus/prometheus.yml" in listed and "compose/.gitignore" in listed
    assert "compose/prometheus/metrics-token" not in listed
    assert "compose/.env" not in listed


def test_promtool_accepts_the_prometheus_config(tmp_path, promtool):
    """Prometheus's own check of the rendered configuration, the token file where the
    container mounts it replaced by the rendered (empty) one."""
    write_stack(tmp_path)
    folder = tmp_path / "compose" / "prometheus"
    text = (folder / "prometheus.yml").read_text()
    assert "/etc/prometheus/metrics-token" in text
    config = folder / "checked.yml"
    config.write_text(text.replace("/etc/prometheus/metrics-token", str(folder / "metrics-token")))
    done = subprocess.run(
        [promtool, "check", "config", str(config)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
