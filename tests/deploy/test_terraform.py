"""The Terraform module of the AWS team stack: parses, scans clean, is formatted, documents
its variables and outputs, and its outputs give the server working settings."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from shipyard.config import load_settings
from shipyard.deploy import settings_from_outputs
from shipyard.errors import InvalidArgument

OUTPUTS = {  # what `terraform output -json` prints after an apply
    "artifacts_uri": {"value": "s3://shipyard-artifacts-123456789012/blobs", "sensitive": False},
    "db_host": {"value": "shipyard.abc.eu-west-1.rds.amazonaws.com", "sensitive": False},
    "db_port": {"value": 5432, "sensitive": False},
    "db_name": {"value": "shipyard", "sensitive": False},
    "db_username": {"value": "shipyard", "sensitive": False},
    "online_store": {"value": "rediss://master.shipyard.abc.cache.amazonaws.com:6379/0"},
    "server_role_arn": {"value": "arn:aws:iam::123456789012:role/shipyard-server"},
}


def test_the_bucket_is_versioned_encrypted_and_private(terraform_module):
    resources = terraform_module["resource"]
    versioning = resources["aws_s3_bucket_versioning.artifacts"]["versioning_configuration"]
    assert versioning["status"] == "Enabled"
    encryption = resources["aws_s3_bucket_server_side_encryption_configuration.artifacts"]
    assert encryption["rule"]["apply_server_side_encryption_by_default"]["sse_algorithm"] == (
        "aws:kms"
    )
    block = resources["aws_s3_bucket_public_access_block.artifacts"]
    assert all(block[k] is True for k in ("block_public_acls", "restrict_public_buckets"))


def test_the_database_and_redis_are_encrypted_and_not_public(terraform_module):
    db = terraform_module["resource"]["aws_db_instance.shipyard"]
    assert db["engine"] == "postgres" and db["storage_encrypted"] is True
    assert db["publicly_accessible"] is False and db["manage_master_user_password"] is True
    redis = terraform_module["resource"]["aws_elasticache_replication_group.shipyard"]
    assert redis["at_rest_encryption_enabled"] is True
    assert redis["transit_encryption_enabled"] is True


def test_the_server_role_reaches_only_its_bucket_key_and_secret(terraform_module):
    assert "aws_iam_role.server" in terraform_module["resource"]
    assert "aws_iam_role_policy.server" in terraform_module["resource"]


def test_every_variable_and_output_is_documented(terraform_module):
    for section in ("variable", "output"):
        undocumented = [n for n, b in terraform_module[section].items() if not b.get("description")]
        assert not undocumented, (section, undocumented)
    assert set(OUTPUTS) <= set(terraform_module["output"])


def test_the_outputs_give_settings_the_server_accepts(monkeypatch):
    settings = settings_from_outputs(OUTPUTS, db_password="p@ss/word")
    assert settings["SHIPYARD_DB_URL"] == (
        "postgresql+psycopg://shipyard:p%40ss%2Fword@shipyard.abc.eu-west-1.rds.amazonaws.com"
        ":5432/shipyard?sslmode=require"
    )
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    loaded = load_settings()
    assert loaded.artifacts_uri == "s3://shipyard-artifacts-123456789012/blobs"
    assert loaded.online_store.startswith("rediss://")
    assert loaded.db_url == settings["SHIPYARD_DB_URL"]


def test_plain_output_values_work_too():
    plain = {k: v["value"] for k, v in OUTPUTS.items()}
    assert settings_from_outputs(plain, "pw") == settings_from_outputs(OUTPUTS, "pw")


@pytest.mark.parametrize(
    ("outputs", "password", "field"),
    [
        ({k: v for k, v in OUTPUTS.items() if k != "db_host"}, "pw", "db_host"),
        ({**OUTPUTS, "db_port": {"value": "http"}}, "pw", "db_port"),
        (OUTPUTS, "", "db_password"),
    ],
)
def test_incomplete_outputs_fail_naming_the_field(outputs, password, field):
    with pytest.raises(InvalidArgument) as caught:
        settings_from_outputs(outputs, password)
    assert caught.value.field == field


def test_the_module_is_formatted(terraform_module):
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform is not installed; the module is still parsed and scanned")
    result = subprocess.run(
        [binary, "fmt", "-check", "-diff", str(terraform_module["folder"]["path"])],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout


@pytest.mark.slow
def test_checkov_finds_no_policy_failure(terraform_module, checkov):
    report = checkov(terraform_module["folder"]["path"], "terraform")
    assert report["failed"] == [] and report["passed"] > 50
