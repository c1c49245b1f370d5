"""`shipyard gc`: stale temporary files, scratch folders and unreferenced blobs go (or are
listed with `--dry-run`); referenced blobs and anything young stay."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from shipyard import maintenance
from shipyard.errors import InvalidArgument
from tests.maintenance.conftest import Seeded
from tests.support.cli import Cli


def _leftovers(seeded: Seeded, scratch: Path) -> tuple[str, str]:
    """An unreferenced blob, a blob temp file, and an old and a young scratch folder."""
    blobs = seeded.store.blobs
    unreferenced = blobs.put_bytes(b"nobody needs me" * 10).digest
    with blobs.fs.open(f"{blobs._path(seeded.artifact)}.tmp-{'a' * 32}", "wb") as fh:
        fh.write(b"half a blob")
    blobs.fs.invalidate_cache()
    old = scratch / "shipyard-data-killed"
    old.mkdir()
    (old / "data.parquet").write_bytes(b"p" * 4096)
    hour_ago = time.time() - 7200
    for path in (old / "data.parquet", old):
        os.utime(path, (hour_ago, hour_ago))
    (scratch / "shipyard-data-busy").mkdir()
    (scratch / "shipyard-metrics-server").mkdir()  # a live server's: never gc's
    os.utime(scratch / "shipyard-metrics-server", (hour_ago, hour_ago))
    return unreferenced, str(old)


def test_dry_run_lists_and_removes_nothing(seeded: Seeded, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    unreferenced, old = _leftovers(seeded, scratch)
    report = maintenance.gc(seeded.settings, dry_run=True, grace_s=3600, temp_dir=scratch)
    assert [(i.kind, i.location, i.size) for i in report.items] == [("scratch", old, 4096)]
    report = maintenance.gc(seeded.settings, dry_run=True, grace_s=0, temp_dir=scratch)
    kinds = {i.kind: i for i in report.items if i.kind != "scratch"}
    assert kinds["blob"].location == unreferenced and kinds["blob"].size == 150
    assert kinds["temp_file"].size == len(b"half a blob")
    assert seeded.store.blobs.exists(unreferenced) and Path(old).exists()


def test_gc_removes_garbage_and_keeps_every_referenced_blob(seeded: Seeded, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    unreferenced, old = _leftovers(seeded, scratch)
    report = maintenance.gc(seeded.settings, grace_s=0, temp_dir=scratch)
    assert {i.kind for i in report.items} == {"blob", "temp_file", "scratch"}
    assert not seeded.store.blobs.exists(unreferenced)
    assert seeded.store.blobs.scan()[1] == []
    assert sorted(p.name for p in scratch.iterdir()) == ["shipyard-metrics-server"]
    assert not Path(old).exists()
    assert maintenance.fsck(seeded.settings).ok  # nothing referenced went


def test_a_blob_named_only_inside_a_json_record_is_kept(seeded: Seeded) -> None:
    kept = seeded.store.blobs.put_bytes(b"a reference profile").digest
    experiment = seeded.store.create_experiment("other")
    run = seeded.store.create_run(experiment.id, "r", tags={"profile": f"sha256:{kept}"})
    assert run.id
    maintenance.gc(seeded.settings, grace_s=0, temp_dir=seeded.settings.home)
    assert seeded.store.blobs.exists(kept)


def test_young_blobs_are_kept_and_storing_again_makes_a_blob_young(
    seeded: Seeded, tmp_path: Path
) -> None:
    blobs = seeded.store.blobs
    digest = blobs.put_bytes(b"written just now").digest
    report = maintenance.gc(seeded.settings, grace_s=3600, temp_dir=tmp_path)
    assert report.items == [] and blobs.exists(digest)
    if blobs.is_local:
        path = blobs._path(digest)
        os.utime(path, (time.time() - 7200, time.time() - 7200))
        blobs.put_bytes(b"written just now")  # a writer about to reference it again
        assert maintenance.gc(seeded.settings, grace_s=3600, temp_dir=tmp_path).items == []
        assert blobs.exists(digest)


def test_cli_gc_dry_run_and_bad_grace(
    seeded: Seeded, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreferenced = seeded.store.blobs.put_bytes(b"stray").digest
    seeded.configure_cli(monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # never the machine's /tmp
    out = cli.ok("gc", "--dry-run", "--grace", "0s")
    assert unreferenced in out and "would remove 1 items" in out
    assert seeded.store.blobs.exists(unreferenced)
    assert "removed 1 items" in cli.ok("gc", "--grace", "0")
    assert not seeded.store.blobs.exists(unreferenced)
    result = cli.invoke("gc", "--grace", "soon")
    assert result.exit_code == 2 and "90s, 30m, 1h" in result.output
    with pytest.raises(InvalidArgument) as caught:
        maintenance.gc(seeded.settings, grace_s=-1)
    assert caught.value.field == "grace"
