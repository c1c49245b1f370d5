"""shipyard.data as a user drives it: register from frames, files and globs, load back in
every form, content hashing that ignores how the input was chunked, profiles, diffs, and the
lineage edges recorded by loading inside runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import shipyard
from shipyard import data
from shipyard.data import _canonical
from shipyard.entities import LineageNode
from shipyard.errors import InvalidArgument, NotFound, SchemaError
from shipyard.tracking import Client


def _frame(n: int = 100, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype="int64"),
            "amount": rng.normal(100, 15, n),
            "city": rng.choice(["Oslo", "Rome", "Lima"], n),
            "flag": rng.random(n) > 0.5,
        }
    )


def test_register_versions_content_and_loads_every_form(sdk: Client) -> None:
    frame = _frame()
    v1 = data.register("tx", frame, description="first")
    assert (v1.ref, v1.num_rows, v1.columns) == ("tx@1", 100, ["id", "amount", "city", "flag"])
    assert data.register("tx", frame.copy()) == v1  # same content: same version
    v2 = data.register("tx", _frame(seed=1))
    assert v2.version == 2 and v2.content_hash != v1.content_hash
    assert data.get("tx@latest") == v2 and data.get("tx") == v2 and data.get("tx@v1") == v1
    pd.testing.assert_frame_equal(data.load("tx@1"), frame, check_dtype=False)
    table = data.load("tx@1", as_="arrow")
    assert isinstance(table, pa.Table) and table.num_rows == 100
    relation = data.load("tx@2", as_="duckdb")
    assert relation.aggregate("count(*)").fetchall() == [(100,)]
    assert list(data.load("tx@1", columns=["city"]).columns) == ["city"]
    assert [v.version for v in data.versions("tx")] == [2, 1]
    assert [(d.name, d.latest_version) for d in data.list_datasets()] == [("tx", 2)]


def test_profile_has_types_nulls_ranges_quantiles_and_top_values(sdk: Client) -> None:
    frame = pd.DataFrame(
        {
            "x": [1.0, 2.0, 3.0, None],
            "label": ["a", "a", "b", None],
            "when": pd.to_datetime(["2024-01-01", "2024-02-01", None, "2024-03-01"]),
        }
    )
    profile = data.register("p", frame).profile
    assert profile["x"]["nulls"] == 1 and profile["x"]["null_fraction"] == 0.25
    assert (profile["x"]["min"], profile["x"]["max"], profile["x"]["mean"]) == (1.0, 3.0, 2.0)
    assert set(profile["x"]["quantiles"]) == {"p5", "p25", "p50", "p75", "p95"}
    assert profile["label"]["top"] == [["a", 2], ["b", 1]]
    assert profile["when"]["min"].startswith("2024-01-01")
    assert profile["when"]["type"].startswith("timestamp")


def test_time_zone_aware_timestamps_profile_in_utc_and_load_back_aware(sdk: Client) -> None:
    frame = pd.DataFrame(
        {"at": pd.date_range("2024-01-01", periods=3, freq="D", tz="Europe/Berlin"), "x": [1, 2, 3]}
    )
    version = data.register("events", frame)
    stats = version.profile["at"]
    assert stats["kind"] == "time" and stats["nulls"] == 0
    assert stats["min"].startswith("2023-12-31 23:00:00")  # midnight in Berlin, as UTC
    loaded = data.load("events@latest")
    pd.testing.assert_frame_equal(loaded, frame, check_dtype=False)
    assert str(loaded["at"].dt.tz) == "Europe/Berlin"


def test_identical_data_from_other_sources_and_chunkings_is_the_same_version(
    sdk: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_canonical, "ROW_GROUP_ROWS", 64)  # several row groups for 1000 rows
    frame = _frame(1000)
    version = data.register("big", frame)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    rechunked = pa.Table.from_batches(table.to_batches(max_chunksize=37))
    assert data.register("big", rechunked) == version
    frame.to_parquet(tmp_path / "big.parquet", index=False)  # pandas metadata is dropped
    assert data.register("big", tmp_path / "big.parquet") == version
    for i, part in enumerate(np.array_split(np.arange(1000), 3)):
        frame.iloc[part].to_parquet(tmp_path / f"part-{i}.parquet", index=False)
    assert data.register("big", str(tmp_path / "part-*.parquet")) == version
    stored = pq.ParquetFile(sdk.store.fetch_blob(version.content_hash))
    assert stored.metadata.num_row_groups == 16  # ceil(1000 / 64)
    assert [v.version for v in data.versions("big")] == [1]


def test_csv_globs_and_folders_stream_into_one_version(sdk: Client, tmp_path: Path) -> None:
    folder = tmp_path / "raw"
    folder.mkdir()
    for day in range(3):
        _frame(20, seed=day).to_csv(folder / f"2026-01-0{day + 1}.csv", index=False)
    from_glob = data.register("raw", str(folder / "*.csv"))
    assert from_glob.num_rows == 60 and from_glob.source.endswith("*.csv")
    assert data.register("raw", folder) == from_glob
    first = data.load(from_glob, columns=["id"])["id"].tolist()
    assert first[:20] == list(range(20))  # files in sorted order


def test_diff_reports_schema_rows_and_the_columns_that_moved(sdk: Client) -> None:
    before = _frame(200)
    after = before.assign(amount=before["amount"] + 60, extra=1).drop(columns=["flag"]).iloc[:150]
    data.register("d", before)
    data.register("d", after)
    result = data.diff("d@1", "d@2")
    assert (result.rows_a, result.rows_b, result.row_change) == (200, 150, -50)
    assert result.added == [{"name": "extra", "type": "int64"}]
    assert result.removed == [{"name": "flag", "type": "bool"}]
    assert result.columns[0].column == "amount" and result.columns[0].score > 3
    assert data.diff("d@1", "d@1").columns[0].score == 0


def test_bad_input_is_refused_with_clear_errors_and_nothing_stored(
    sdk: Client, tmp_path: Path
) -> None:
    with pytest.raises(NotFound, match="no dataset named 'ghost'"):
        data.load("ghost@1")
    data.register("real", _frame(5))
    with pytest.raises(NotFound, match=r"has no version 4; its versions are 1\.\.1"):
        data.load("real@4")
    for bad in ("real@x", "real@0", "real@1@2", ""):
        with pytest.raises(InvalidArgument, match="dataset reference"):
            data.load(bad)
    with pytest.raises(InvalidArgument, match="as_ must be one of"):
        data.load("real@1", as_="polars")  # type: ignore[call-overload]
    with pytest.raises(InvalidArgument, match="no column 'nope'"):
        data.load("real@1", columns=["nope"])
    with pytest.raises(InvalidArgument, match="dataset name"):
        data.register("has space", _frame(5))
    with pytest.raises(InvalidArgument, match="cannot register a set"):
        data.register("x", {1, 2})
    with pytest.raises(NotFound, match="no files match"):
        data.register("x", str(tmp_path / "*.csv"))
    with pytest.raises(InvalidArgument, match="cannot tell the format"):
        (tmp_path / "notes.txt").write_text("hello")
        data.register("x", tmp_path / "notes.txt")
    with pytest.raises(SchemaError, match="one type"):
        data.register("x", pd.DataFrame({"mixed": [1, "a", 2.5]}))
    with pytest.raises(SchemaError, match="strings"):
        data.register("x", pd.DataFrame({0: [1]}))
    assert [d.name for d in data.list_datasets()] == ["real"]


def test_untyped_source_errors_become_schema_errors_naming_the_source(
    sdk: Client, tmp_path: Path
) -> None:
    import pyarrow as pa

    duplicated = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    with pytest.raises(SchemaError, match="must be unique; duplicated: a") as dup:
        data.register("x", duplicated)
    assert dup.value.field == "source"
    for empty in (pd.DataFrame(), pa.table({})):
        with pytest.raises(SchemaError, match="has no columns") as none:
            data.register("x", empty)
        assert none.value.field == "source"
    assert data.register("x", pd.DataFrame({"a": pd.Series([], dtype="int64")})).num_rows == 0
    for huge in ("x@99999999999999999999999", "x@2147483648"):
        with pytest.raises(InvalidArgument, match="from 1 to 2,147,483,647") as ref:
            data.load(huge)
        assert ref.value.field == "ref"


def test_loading_and_registering_inside_a_run_records_lineage(sdk: Client) -> None:
    source = data.register("source", _frame(10))
    with shipyard.start_run(experiment="lineage") as run:
        frame = data.load("source@latest")
        derived = data.register("derived", frame.assign(double=frame["amount"] * 2))
    run_node = LineageNode("run", run.id)
    source_node = LineageNode("dataset_version", source.id)
    derived_node = LineageNode("dataset_version", derived.id)
    down = shipyard.lineage.downstream("source@1")
    assert {(e.src, e.dst, e.relation) for e in down.edges} == {
        (source_node, run_node, "consumed"),
        (run_node, derived_node, "produced"),
    }
    up = shipyard.lineage.upstream(derived)
    assert up.of_kind("dataset_version") == [source_node]
    # outside a run nothing is recorded
    data.load("source@1")
    assert len(shipyard.lineage.downstream(source).edges) == 2
