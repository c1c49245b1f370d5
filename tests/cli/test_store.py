"""Which store commands use: reading never creates one, and `shipyard info` says where it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.tracking import Client
from tests.support.cli import Cli

READ_COMMANDS = [
    ("runs", "list"),
    ("runs", "search", "metrics.auc > 0.5"),
    ("runs", "show", "abc123"),
    ("experiments", "list"),
    ("experiments", "delete", "churn"),
    ("models", "list"),
    ("models", "show", "churn"),
    ("data", "list"),
    ("pipelines", "list"),
    ("pipelines", "runs"),
    ("lineage", "run:abc"),
    ("users", "list"),
    ("tokens", "list"),
    ("audit",),
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_a_read_command_outside_any_project_says_there_is_no_store_and_creates_none(
    cli: Cli, tmp_path: Path, command: tuple[str, ...]
) -> None:
    line = cli.fails(*command)
    assert "no Shipyard store here" in line
    assert str(tmp_path / ".shipyard" / "shipyard.db") in line
    assert "shipyard demo" in line and "SHIPYARD_TRACKING_URI" in line
    assert not (tmp_path / ".shipyard").exists()


def test_read_commands_work_once_a_store_exists(cli: Cli, sqlite_sdk: Client) -> None:
    sqlite_sdk.store.create_experiment("churn", "")
    assert cli.names_in(cli.ok("experiments", "list"), ["churn"]) == {"churn"}


def test_info_shows_home_database_artifacts_server_project_and_version(
    cli: Cli, tmp_path: Path
) -> None:
    out = cli.ok("info")
    fields = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    assert fields["home"] == str(tmp_path / ".shipyard")
    assert fields["database"] == f"sqlite:///{tmp_path / '.shipyard' / 'shipyard.db'}"
    assert fields["store"].startswith("not created yet")
    assert fields["artifacts"] == str(tmp_path / ".shipyard" / "blobs")
    assert fields["server"] == "none (embedded store)"
    assert fields["project"] == "default"
    assert not (tmp_path / ".shipyard").exists()  # info creates nothing either


def test_info_hides_passwords_of_the_database_and_server_urls(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_DB_URL", "postgresql://ml:s3cret-pw@db.internal:5432/shipyard")
    monkeypatch.setenv("SHIPYARD_TRACKING_URI", "https://bot:t0ken-pw@ml.example.com")
    monkeypatch.setenv("SHIPYARD_TOKEN", "syt_very_secret")
    out = cli.ok("info")
    assert "s3cret-pw" not in out and "t0ken-pw" not in out and "syt_very_secret" not in out
    assert "postgresql://ml:***@db.internal:5432/shipyard" in out
    assert "https://bot:***@ml.example.com" in out
    assert "token      set" in out
