"""`shipyard deploy`: render, stack and settings, as a user runs them."""

from __future__ import annotations

import json

import yaml


def test_render_k8s_prints_valid_manifests_in_a_namespace(cli, validate_manifests):
    out = cli.ok("deploy", "render", "churn@champion", "--target", "k8s", "-n", "ml")
    manifests = list(yaml.safe_load_all(out))
    assert {m["metadata"]["namespace"] for m in manifests} == {"ml"}
    assert {m["kind"] for m in manifests} >= {"Deployment", "HorizontalPodAutoscaler"}
    validate_manifests(manifests)


def test_render_kserve_and_compose(cli, validate_manifests, compose_schema):
    import jsonschema

    (isvc,) = yaml.safe_load_all(cli.ok("deploy", "render", "churn/2", "--target", "kserve"))
    assert isvc["kind"] == "InferenceService"
    validate_manifests([isvc])
    compose = yaml.safe_load(cli.ok("deploy", "render", "fraud@prod", "--target", "compose"))
    assert compose["services"]["model"]["command"][:2] == ["serve", "fraud@prod"]
    jsonschema.Draft7Validator(compose_schema).validate(compose)


def test_render_writes_a_file(cli, tmp_path):
    target = tmp_path / "model.yaml"
    cli.ok("deploy", "render", "churn@champion", "-o", str(target))
    assert yaml.safe_load_all(target.read_text())


def test_bad_input_fails_with_one_clear_line(cli):
    assert "--target must be one of" in cli.fails("deploy", "render", "churn@x", "-t", "helm")
    assert "latest" in cli.fails("deploy", "render", "churn@x", "--image", "shipyard:latest")
    assert "version" in cli.fails("deploy", "render", "churn")
    assert "max_replicas" in cli.fails(
        "deploy", "render", "churn@x", "--min-replicas", "5", "--max-replicas", "2"
    )


def test_stack_writes_every_file(cli, tmp_path):
    out = cli.ok("deploy", "stack", "--output", str(tmp_path / "stack"))
    assert "wrote 25 files" in out
    assert (tmp_path / "stack" / "terraform" / "aws" / "outputs.tf").exists()
    compose = tmp_path / "stack" / "compose"
    assert (compose / ".gitignore").exists()
    assert (compose / "prometheus" / "metrics-token").read_text() == ""


def test_settings_from_terraform_outputs(cli, tmp_path, monkeypatch):
    outputs = {
        "artifacts_uri": {"value": "s3://b/blobs"}, "db_host": {"value": "db.internal"},
        "db_port": {"value": 5432}, "db_name": {"value": "shipyard"},
        "db_username": {"value": "shipyard"}, "online_store": {"value": "rediss://r:6379/0"},
    }  # fmt: skip
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    monkeypatch.setenv("SHIPYARD_DB_PASSWORD", "it's secret")
    out = cli.ok("deploy", "settings", str(path))
    assert "export SHIPYARD_ARTIFACTS_URI=s3://b/blobs" in out
    assert "export SHIPYARD_DB_URL='postgresql+psycopg://shipyard:it%27s%20secret@db" in out
    monkeypatch.delenv("SHIPYARD_DB_PASSWORD")
    assert "db_password" in cli.fails("deploy", "settings", str(path))
    path.write_text("[1]")
    assert "not a JSON object" in cli.fails("deploy", "settings", str(path))
