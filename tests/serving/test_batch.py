"""Batch scoring: the local and Ray executors give the same file row for row, and bad input
(a missing file or column, an unreachable Ray address) is a clear error that writes nothing."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import shipyard
from shipyard.cli import app
from shipyard.errors import InvalidArgument, NotFound, SchemaError, ServiceUnavailable
from shipyard.serving import predict_file
from shipyard.serving._batch_ray import Unit, plan_units


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write(frame: pd.DataFrame, path: Path, row_group_size: int) -> Path:
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_size
    )
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".*.tmp"))


def test_chunks_follow_row_groups_and_never_span_two() -> None:
    assert plan_units([5, 2, 0, 3], chunk_rows=2) == [
        Unit(0, 0, 2),
        Unit(0, 1, 2),
        Unit(0, 2, 1),
        Unit(1, 0, 2),
        Unit(3, 0, 2),
        Unit(3, 1, 1),
    ]
    assert plan_units([], chunk_rows=10) == []


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_a_missing_column_is_named_and_nothing_is_written(
    served_model: Any, tmp_path: Path, executor: str
) -> None:
    """The schema is checked from the file's footer, before a model or Ray worker starts."""
    X, _ = served_model
    bad = _write(X.drop(columns=["mean texture", "worst area"]), tmp_path / "bad.parquet", 100)
    out = tmp_path / "out.parquet"
    out.write_bytes(b"the previous output")
    with pytest.raises(SchemaError, match="no column 'mean texture' \\(and 1 more\\)") as info:
        predict_file("churn@champion", bad, out, executor=executor)
    assert info.value.field == "mean texture"
    assert out.read_bytes() == b"the previous output" and _leftovers(tmp_path) == []
    with pytest.raises(NotFound, match="does not exist"):
        predict_file("churn@champion", tmp_path / "nope.parquet", out, executor=executor)
    assert out.read_bytes() == b"the previous output"


def test_bad_executor_and_unreachable_ray_are_clear_errors(
    served_model: Any, tmp_path: Path
) -> None:
    X, _ = served_model
    source = _write(X, tmp_path / "in.parquet", 100)
    out = tmp_path / "out.parquet"
    with pytest.raises(InvalidArgument, match="executor 'spark' is not one of local, ray"):
        predict_file("churn@champion", source, out, executor="spark")
    pytest.importorskip("ray")
    address = f"ray://127.0.0.1:{_free_port()}"
    with pytest.raises(ServiceUnavailable, match=f"no Ray cluster answers at {address}"):
        predict_file("churn@champion", source, out, executor="ray", ray_address=address)
    assert not out.exists() and _leftovers(tmp_path) == []
    done = CliRunner().invoke(
        app,
        ["predict", "churn@champion", "-i", str(source), "-o", str(out), "--executor", "ray",
         "--ray-address", address],
    )  # fmt: skip
    assert done.exit_code == 1 and "error:" in done.output and "no Ray cluster" in done.output
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:dropping 1 column")  # the id column passes through
def test_ray_scores_the_same_rows_in_the_same_order_as_local(
    ray_local: Any, served_model: Any, tmp_path: Path
) -> None:
    X, _ = served_model
    # 8 copies of the data with an id column: row groups of 700 rows, chunks of 300, so a row
    # group is split across actors and some chunks are short.
    big = pd.concat([X] * 8, ignore_index=True).assign(id=lambda f: range(len(f)))
    source = _write(big, tmp_path / "in.parquet", row_group_size=700)
    seen: list[tuple[int, int]] = []
    local = predict_file("churn@champion", source, tmp_path / "local.parquet", chunk_rows=300)
    on_ray = predict_file(
        "churn@champion",
        source,
        tmp_path / "ray.parquet",
        chunk_rows=300,
        executor="ray",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert local == on_ray == len(big)
    expected = pd.read_parquet(tmp_path / "local.parquet")
    got = pd.read_parquet(tmp_path / "ray.parquet")
    pd.testing.assert_frame_equal(got, expected)
    assert list(got.columns) == [*big.columns, "prediction"]
    assert (got["id"].to_numpy() == np.arange(len(big))).all()
    model = shipyard.models.load("churn@champion")
    assert (got["prediction"].to_numpy() == model.predict(X.loc[got["id"] % len(X)])).all()
    assert len(seen) == len(plan_units([700] * 6 + [len(big) - 4200], 300))
    assert seen[-1] == (len(big), len(big))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)

    # Values the signature refuses (text in a number column), found by an actor: the same
    # SchemaError as locally, and no output.
    broken = big.astype({"mean radius": str})
    bad = _write(broken, tmp_path / "bad.parquet", row_group_size=700)
    with pytest.raises(SchemaError, match="mean radius"):
        predict_file(
            "churn@champion",
            bad,
            tmp_path / "bad-out.parquet",
            chunk_rows=300,
            executor="ray",
            max_parallel=1,
        )
    assert not (tmp_path / "bad-out.parquet").exists() and _leftovers(tmp_path) == []

    # The command line, with the progress bar: same file again.
    done = CliRunner().invoke(
        app,
        ["predict", "churn@champion", "-i", str(source), "-o", str(tmp_path / "cli.parquet"),
         "--executor", "ray", "--chunk-rows", "1000", "--parallel", "1"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert f"scored {len(big)} rows with churn@champion on Ray" in done.output
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "cli.parquet"), expected)
