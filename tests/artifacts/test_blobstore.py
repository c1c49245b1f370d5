"""Blob store: content addressing, dedup, atomic writes and verified reads, local and on S3."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from shipyard.artifacts import BlobStore
from shipyard.client._local_base import storage_options
from shipyard.config import load_settings
from shipyard.errors import IntegrityError, InvalidArgument, NotFound, ServiceUnavailable


@pytest.fixture
def blobs(artifacts_uri: str) -> BlobStore:
    settings = load_settings(artifacts_uri=artifacts_uri)
    return BlobStore(artifacts_uri, storage_options=storage_options(settings))


def test_put_and_get_round_trip_by_sha256(blobs: BlobStore, tmp_path: Path) -> None:
    data = b"hello shipyard\n" * 1000
    info = blobs.put_bytes(data)
    assert info.digest == hashlib.sha256(data).hexdigest()
    assert info.size == len(data)
    assert blobs.exists(info.digest)
    assert blobs.get_bytes(info.digest) == data
    out = blobs.get_file(info.digest, tmp_path / "out" / "copy.bin")
    assert out.read_bytes() == data


def test_identical_content_is_stored_once(blobs: BlobStore, tmp_path: Path) -> None:
    first = blobs.put_bytes(b"same")
    source = tmp_path / "same.txt"
    source.write_bytes(b"same")
    second = blobs.put_file(source)
    assert first == second
    stored = [p for p in blobs.fs.find(blobs.root) if p.endswith(first.digest)]
    assert len(stored) == 1


def test_stream_upload_is_hashed_while_streaming(blobs: BlobStore) -> None:
    data = bytes(range(256)) * 5000
    info = blobs.put_stream(io.BytesIO(data))
    assert info.digest == hashlib.sha256(data).hexdigest()
    with blobs.open(info.digest) as fh:
        assert fh.read() == data


def test_corrupted_blob_raises_integrity_error_and_leaves_no_file(
    blobs: BlobStore, tmp_path: Path
) -> None:
    info = blobs.put_bytes(b"precious model weights")
    path = blobs._path(info.digest)
    with blobs.fs.open(path, "wb") as fh:
        fh.write(b"tampered model weights")
    with pytest.raises(IntegrityError, match="corrupted"):
        blobs.get_bytes(info.digest)
    target = tmp_path / "model.bin"
    with pytest.raises(IntegrityError):
        blobs.get_file(info.digest, target)
    assert not target.exists()
    assert list(tmp_path.glob(".model.bin.tmp-*")) == []


def test_missing_and_malformed_digests(blobs: BlobStore) -> None:
    with pytest.raises(NotFound):
        blobs.get_bytes("0" * 64)
    with pytest.raises(InvalidArgument, match="sha256"):
        blobs.get_bytes("../../etc/passwd")


def test_local_writes_leave_no_temp_files(tmp_path: Path) -> None:
    blobs = BlobStore(str(tmp_path / "b"))
    for i in range(5):
        blobs.put_bytes(f"blob {i}".encode())
    names = [p.name for p in (tmp_path / "b").rglob("*") if p.is_file()]
    assert len(names) == 5
    assert not any(".tmp-" in n for n in names)


def _damage(blobs: BlobStore, digest: str, content: bytes) -> None:
    with blobs.fs.open(blobs._path(digest), "wb") as fh:
        fh.write(content)
    blobs.fs.invalidate_cache()


@pytest.mark.parametrize(
    "damage", [b"truncated", b"tampered model weights!"], ids=["other-size", "same-size"]
)
def test_putting_the_content_again_repairs_a_damaged_blob(blobs: BlobStore, damage: bytes) -> None:
    data = b"precious model weights!"
    info = blobs.put_bytes(data)
    _damage(blobs, info.digest, damage)
    assert blobs.check(info.digest) is not None
    if len(damage) == len(data) and not blobs.is_local:
        pytest.skip("an object store trusts an object of the right size (checked at PUT)")
    assert blobs.put_bytes(data) == info
    assert blobs.get_bytes(info.digest) == data
    assert blobs.check(info.digest, size=len(data)) is None


def test_integrity_error_says_how_to_repair(blobs: BlobStore) -> None:
    info = blobs.put_bytes(b"weights")
    _damage(blobs, info.digest, b"WEIGHTS")
    with pytest.raises(IntegrityError) as caught:
        blobs.get_bytes(info.digest)
    assert "store the same content again" in caught.value.message
    assert "shipyard fsck" in caught.value.message


def test_check_names_missing_wrong_size_and_corrupt_blobs(blobs: BlobStore) -> None:
    info = blobs.put_bytes(b"0123456789")
    assert blobs.check(info.digest, size=10) is None
    assert blobs.check("a" * 64) == "missing"
    assert blobs.check(info.digest, size=11) == "holds 10 bytes, its record says 11"
    _damage(blobs, info.digest, b"9876543210")
    assert blobs.check(info.digest, size=10, full=False) is None
    assert (blobs.check(info.digest, size=10) or "").startswith("corrupted: its content hashes")


def test_scan_lists_blobs_and_leftover_temp_files(blobs: BlobStore) -> None:
    info = blobs.put_bytes(b"kept")
    leftover = f"{blobs._path(info.digest)}.tmp-{'0' * 32}"
    with blobs.fs.open(leftover, "wb") as fh:
        fh.write(b"half")
    blobs.fs.invalidate_cache()
    found, temps = blobs.scan()
    assert [(f.name, f.size) for f in found] == [(info.digest, 4)]
    assert [t.size for t in temps] == [4] and temps[0].modified is not None
    blobs.remove_temp(temps[0])
    with pytest.raises(ValueError, match="not a temporary file"):
        blobs.remove_temp(found[0])
    assert blobs.scan()[1] == [] and blobs.exists(info.digest)


def test_local_put_fsyncs_the_file_and_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import stat

    synced: list[tuple[bool, int]] = []
    real_fsync = os.fsync

    def record(fd: int) -> None:
        st = os.fstat(fd)
        synced.append((stat.S_ISDIR(st.st_mode), st.st_ino))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", record)
    blobs = BlobStore(str(tmp_path / "b"))
    info = blobs.put_bytes(b"durable")
    target = Path(blobs._path(info.digest))
    assert (False, target.stat().st_ino) in synced  # the file, before the rename
    assert (True, target.parent.stat().st_ino) in synced  # the folder, after it
    assert synced.index((False, target.stat().st_ino)) < synced.index(
        (True, target.parent.stat().st_ino)
    )


def test_a_failed_local_write_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    blobs = BlobStore(str(tmp_path / "b"))
    with pytest.raises(
        ServiceUnavailable, match=r"the artifact store failed storing blob .*disk full"
    ):
        blobs.put_bytes(b"lost")
    assert blobs.scan() == ([], [])
