"""Blob store: content addressing, dedup, atomic writes and verified reads, local and on S3."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from shipyard.artifacts import BlobStore
from shipyard.client._local_base import storage_options
from shipyard.config import load_settings
from shipyard.errors import IntegrityError, InvalidArgument, NotFound


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
