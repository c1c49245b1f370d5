"""`shipyard fsck`: every referenced blob present and intact, no half-registered versions;
`--repair` drops half-registrations and lists the blobs to upload again."""

from __future__ import annotations

import pytest

from shipyard import maintenance
from shipyard.config import load_settings
from shipyard.errors import ConfigError, NotFound
from tests.maintenance.conftest import Seeded
from tests.support.cli import Cli


def _damage(seeded: Seeded, digest: str, content: bytes | None) -> None:
    blobs = seeded.store.blobs
    if content is None:
        blobs.delete(digest)
    else:
        with blobs.fs.open(blobs._path(digest), "wb") as fh:
            fh.write(content)
    blobs.fs.invalidate_cache()


def test_a_healthy_store_has_no_problems(
    seeded: Seeded, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = maintenance.fsck(seeded.settings)
    assert report.ok and report.blobs_checked == 3 and report.references == 3
    seeded.configure_cli(monkeypatch)
    assert "3 blobs (3 references) present and intact" in cli.ok("fsck")


def test_missing_and_damaged_blobs_are_listed_with_their_owners(
    seeded: Seeded, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _damage(seeded, seeded.artifact, None)
    _damage(seeded, seeded.model_file, b"short")
    report = maintenance.fsck(seeded.settings, repair=True)
    found = {p.subject: p for p in report.problems}
    assert set(found) == {seeded.artifact, seeded.model_file}
    assert found[seeded.artifact].kind == "missing_blob"
    assert found[seeded.artifact].owners[0].endswith("artifact report.txt")
    assert found[seeded.model_file].kind == "damaged_blob"
    assert found[seeded.model_file].owners == ("model churn v1 file weights.bin",)
    assert sorted(report.needs_upload) == sorted(found)
    seeded.configure_cli(monkeypatch)
    result = cli.invoke("fsck")
    assert result.exit_code == 1
    assert "missing blob" in result.stdout and "damaged blob" in result.stdout
    assert "2 blobs need uploading again" in result.stdout


def test_putting_the_content_again_heals_what_fsck_found(seeded: Seeded) -> None:
    _damage(seeded, seeded.model_file, b"x" * len(seeded.contents[seeded.model_file]))
    _damage(seeded, seeded.dataset, None)
    assert len(maintenance.fsck(seeded.settings).problems) == 2
    for digest in (seeded.model_file, seeded.dataset):
        assert seeded.store.blobs.put_bytes(seeded.contents[digest]).digest == digest
    if seeded.store.blobs.is_local:
        assert maintenance.fsck(seeded.settings).ok
    else:  # an object of the right size is trusted on put; the missing one is back
        assert [p.subject for p in maintenance.fsck(seeded.settings).problems] == [
            seeded.model_file
        ]


def test_quick_checks_presence_and_size_without_hashing(seeded: Seeded) -> None:
    _damage(seeded, seeded.model_file, b"y" * len(seeded.contents[seeded.model_file]))
    assert maintenance.fsck(seeded.settings, full=False).ok
    assert not maintenance.fsck(seeded.settings).ok


def test_repair_drops_half_registered_versions_and_empty_datasets(
    seeded: Seeded, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded.sql("DELETE FROM model_version_files")
    seeded.sql("INSERT INTO datasets (name, description, created_at, updated_at) "
               "VALUES ('orphan', '', 0, 0)")  # fmt: skip
    report = maintenance.fsck(seeded.settings)
    assert {(p.kind, p.subject) for p in report.problems} == {
        ("half_registered", "model version churn v1"),
        ("half_registered", "dataset orphan"),
    }
    seeded.configure_cli(monkeypatch)
    assert "half registered" in cli.invoke("fsck").stdout
    assert cli.invoke("fsck", "--repair").exit_code == 0
    assert maintenance.fsck(seeded.settings).ok
    with pytest.raises(NotFound):
        seeded.store.get_model_version("churn", 1)
    assert [d.name for d in seeded.store.list_datasets()] == ["sales"]


def test_fsck_refuses_a_server_url_naming_where_to_run(tmp_path: object) -> None:
    settings = load_settings(tracking_uri="http://127.0.0.1:9")
    with pytest.raises(ConfigError) as caught:
        maintenance.fsck(settings)
    assert caught.value.field == "tracking_uri" and "server's host" in caught.value.message
