"""Settings: precedence of overrides, env vars, project file and defaults; bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.config import find_home, load_settings
from shipyard.errors import ConfigError


def test_default_home_is_dot_shipyard_in_cwd_with_sqlite_and_blobs_inside(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.home == (tmp_path / ".shipyard").resolve()
    assert settings.db_url == f"sqlite:///{settings.home / 'shipyard.db'}"
    assert settings.artifacts_uri == str(settings.home / "blobs")
    assert not settings.is_remote


def test_home_is_found_upward_like_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".shipyard").mkdir()
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert find_home() == (tmp_path / ".shipyard").resolve()
    assert load_settings().home == (tmp_path / ".shipyard").resolve()


def test_precedence_override_beats_env_beats_project_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shipyard.toml").write_text(
        '[shipyard]\nhome = "state"\nflush_interval = 2.0\nbatch_size = 10\n'
    )
    assert load_settings().home == (tmp_path / "state").resolve()
    assert load_settings().flush_interval == 2.0
    monkeypatch.setenv("SHIPYARD_FLUSH_INTERVAL", "3.5")
    monkeypatch.setenv("SHIPYARD_SYNC_LOGGING", "yes")
    settings = load_settings(batch_size=7)
    assert settings.flush_interval == 3.5
    assert settings.sync_logging is True
    assert settings.batch_size == 7


def test_env_db_and_tracking_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_DB_URL", "postgresql+psycopg://u:p@db/ship")
    monkeypatch.setenv("SHIPYARD_ARTIFACTS_URI", "s3://bucket/prefix")
    monkeypatch.setenv("SHIPYARD_TRACKING_URI", "http://127.0.0.1:8080")
    settings = load_settings()
    assert settings.db_url == "postgresql+psycopg://u:p@db/ship"
    assert settings.artifacts_uri == "s3://bucket/prefix"
    assert settings.is_remote


@pytest.mark.parametrize(
    ("env", "value", "words"),
    [
        ("SHIPYARD_SYNC_LOGGING", "maybe", "must be a bool"),
        ("SHIPYARD_BATCH_SIZE", "lots", "must be a int"),
        ("SHIPYARD_FLUSH_INTERVAL", "-1", "positive"),
    ],
)
def test_bad_env_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, words: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=words):
        load_settings()


def test_unknown_key_in_project_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text("[shipyard]\ndb_ulr = 'sqlite://'\n")
    with pytest.raises(ConfigError, match="unknown setting 'db_ulr'"):
        load_settings()


def test_broken_project_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text("[shipyard\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()
