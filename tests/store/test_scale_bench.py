"""The PostgreSQL scale benchmark (bench/scale.py) cannot rot: its bulk seeding writes runs,
model versions and lineage chains the store reads back as the bench says, and each curve runs
on tiny sizes (no timing is asserted here; speed is the bench's job)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench() -> Iterator[Any]:
    sys.path.insert(0, str(BENCH))
    try:
        import scale

        yield scale
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture
def client(bench: Any, tmp_path: Path, migrated_db_url: str) -> Iterator[Any]:
    """Shipyard's default client on a migrated database of each backend."""
    client = bench.open_client(tmp_path / "home", migrated_db_url)
    yield client
    client.close()


def _expected_page(bench: Any, runs: int) -> list[float]:
    """The m1 values of the page the bench's search must return, from the seeded data."""
    matching = []
    for _, params, metrics in bench.seed.run_rows("x", 0, runs, 1234):
        p = {key: value for _, key, value in params}
        m = {key: value for _, key, value, _, _ in metrics}
        if m["m0"] > 0.5 and p["p0"] == "a":
            matching.append(m["m1"])
    return sorted(matching, reverse=True)[: bench.SEARCH["limit"]]


def test_seeded_runs_are_what_the_search_returns(bench: Any, client: Any) -> None:
    curve = bench.search_curve(client, [300, 900], repeat=1)
    assert [point["size"] for point in curve] == [300, 900]
    frame = bench.search_once()
    assert list(frame["metrics.m1"]) == pytest.approx(_expected_page(bench, 900))
    assert curve[-1]["rows"] == len(frame)
    assert "latest_metrics" in curve[-1]["plan"]  # the plan of the id query is recorded


def test_run_rows_are_the_same_whatever_the_batch(bench: Any) -> None:
    """Growing a store from 10k to 1M runs keeps the runs it had: run i is seeded alike."""
    whole = list(bench.seed.run_rows("x", 0, 50, 7))
    parts = list(bench.seed.run_rows("x", 0, 20, 7)) + list(bench.seed.run_rows("x", 20, 30, 7))
    assert whole == parts
    assert len({run[0] for run, _, _ in whole}) == 50


def test_registry_and_lineage_curves(bench: Any, client: Any) -> None:
    registry = bench.registry_curve(client, [5, 12], repeat=1)
    assert [p["size"] for p in registry] == [5, 12]
    versions = client.store.list_model_versions(bench.MODEL)
    assert [v.version for v in versions] == list(range(12, 0, -1))
    lineage = bench.lineage_curve(client, [50, 200], repeat=1)
    assert [p["depth"] for p in lineage] == [bench.DEPTH, bench.DEPTH]


def test_growth_and_render(bench: Any) -> None:
    curve = [{"size": 10, "ms": 2.0}, {"size": 1000, "ms": 5.0}]
    assert bench.growth(curve) == 2.5
    text = bench.render({"search": curve, "targets": {"search within 3x": True}})
    assert "growth 2.50x for 100x the runs" in text and "target search within 3x: pass" in text


def test_logging_clients_through_the_server(
    bench: Any, tmp_path: Path, migrated_db_url: str
) -> None:
    curve = bench.logging_curve(migrated_db_url, tmp_path, [1, 2], seconds=0.3)
    assert [p["size"] for p in curve] == [1, 2]
    for point in curve:
        assert len(point["clients"]) == point["size"]
        for child in point["clients"]:
            assert child["points"] > 0 and child["stored"] == child["points"]
        # what one request costs each side, and the rate that allows at most
        assert point["server_cpu_ms"] > 0 and point["client_cpu_ms"] > 0
        assert point["ceiling_per_second"] > 0 and point["sessions_opened"] >= 0


def test_quick_sizes_are_small(bench: Any) -> None:
    args = bench.parse_args(["--quick"])
    assert max(args.runs) <= 10_000 and args.repeat <= 5
    assert bench.parse_args([]).runs == [10_000, 100_000, 1_000_000]
