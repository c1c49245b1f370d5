"""Dataset versions through the Store protocol, on every database backend, and through the
SDK on every blob-store backend (local folder and S3)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shipyard import data
from shipyard.artifacts import sha256_file
from shipyard.client import LocalStore, Store
from shipyard.config import load_settings
from shipyard.errors import IntegrityError, InvalidArgument, NotFound


def _parquet(tmp_path: Path, name: str, frame: pd.DataFrame) -> Path:
    path = tmp_path / f"{name}.parquet"
    frame.to_parquet(path, index=False)
    return path


def _create(store: Store, name: str, path: Path) -> object:
    return store.create_dataset_version(
        name,
        path,
        num_rows=3,
        schema=[{"name": "x", "type": "int64", "nullable": True}],
        profile={"x": {"kind": "number", "min": 1}},
        source=str(path),
    )


def test_versions_are_numbered_and_identical_content_is_one_version(
    store: Store, tmp_path: Path
) -> None:
    first = _parquet(tmp_path, "a", pd.DataFrame({"x": [1, 2, 3]}))
    second = _parquet(tmp_path, "b", pd.DataFrame({"x": [4, 5, 6]}))
    v1 = _create(store, "sales", first)
    again = _create(store, "sales", first)
    v2 = _create(store, "sales", second)
    assert (v1.version, v2.version) == (1, 2)  # type: ignore[attr-defined]
    assert again == v1
    assert v1.content_hash == sha256_file(first).digest  # type: ignore[attr-defined]
    assert store.find_dataset_version("sales", v2.content_hash) == v2  # type: ignore[attr-defined]
    assert store.find_dataset_version("sales", "0" * 64) is None
    assert store.get_dataset_version("sales") == v2
    assert store.get_dataset_version("sales", 1) == v1
    assert store.get_dataset_version_by_id(v1.id) == v1  # type: ignore[attr-defined]
    assert [v.version for v in store.list_dataset_versions("sales")] == [2, 1]
    # the same content under another name is another dataset's version 1 (one blob)
    other = _create(store, "sales-copy", first)
    assert other.version == 1 and other.content_hash == v1.content_hash  # type: ignore[attr-defined]
    listed = {d.name: (d.latest_version, d.version_count) for d in store.list_datasets()}
    assert listed == {"sales": (2, 2), "sales-copy": (1, 1)}
    stored = store.get_dataset_version("sales", 1)
    assert stored.profile == {"x": {"kind": "number", "min": 1}}
    assert stored.schema == [{"name": "x", "type": "int64", "nullable": True}]


def test_unknown_datasets_and_versions_are_clear_errors(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no dataset named 'nope'"):
        store.get_dataset_version("nope")
    with pytest.raises(NotFound, match="no dataset named"):
        store.list_dataset_versions("nope")
    _create(store, "sales", _parquet(tmp_path, "a", pd.DataFrame({"x": [1]})))
    with pytest.raises(NotFound, match=r"has no version 7; its versions are 1\.\.1"):
        store.get_dataset_version("sales", 7)
    with pytest.raises(NotFound):
        store.get_dataset_version_by_id("0" * 32)
    with pytest.raises(InvalidArgument, match="dataset name"):
        _create(store, "bad name@1", _parquet(tmp_path, "b", pd.DataFrame({"x": [1]})))
    assert [d.name for d in store.list_datasets()] == ["sales"]


def test_blobs_are_fetched_verified(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "blob.bin"
    source.write_bytes(b"weights" * 100)
    digest = store.put_blob(source)
    assert digest == sha256_file(source).digest
    assert store.fetch_blob(digest).read_bytes() == source.read_bytes()
    with pytest.raises(NotFound):
        store.fetch_blob("1" * 64)


def test_register_and_load_on_each_blob_backend(artifacts_uri: str, tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / ".shipyard", artifacts_uri=artifacts_uri)
    store = LocalStore(settings)
    frame = pd.DataFrame({"id": range(50), "city": ["Oslo", "Rome"] * 25})
    version = data.register("cities", frame, store=store)
    assert data.register("cities", frame.copy(), store=store) == version
    loaded = data.load(version, store=store)
    pd.testing.assert_frame_equal(loaded, frame, check_dtype=False)
    assert data.load(version, "arrow", columns=["city"], store=store).column_names == ["city"]


def test_a_corrupted_local_blob_is_refused(tmp_path: Path) -> None:
    store = LocalStore(load_settings(home=tmp_path / ".shipyard"))
    version = data.register("d", pd.DataFrame({"x": [1, 2]}), store=store)
    path = store.blobs.local_path(version.content_hash)
    assert path is not None
    path.write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match="corrupted"):
        data.load("d@1", store=store)
