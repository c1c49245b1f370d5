"""The drift benchmark cannot rot: its data generator shifts exactly the columns it says,
and Shipyard's side of it (fit + score, score from a stored profile, the false-positive
windows, the tables) runs in-process on small sizes. Evidently is not needed here."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench() -> object:
    sys.path.insert(0, str(BENCH))
    try:
        import _monitoring_child
        import _monitoring_data
        import monitoring

        yield _monitoring_data, _monitoring_child, monitoring
    finally:
        sys.path.remove(str(BENCH))


def test_generator_shapes_and_shifts(bench: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    data, _, _ = bench
    reference, current = data.write_pair(tmp_path, 2_000, 0, shifted=True)
    ref, cur = pd.read_parquet(reference), pd.read_parquet(current)
    assert list(ref.columns) == list(cur.columns) == data.COLUMNS and len(cur) == 2_000
    assert len(data.NUMERIC) == 20 and len(data.CATEGORICAL) == 5
    assert cur["n00"].mean() - ref["n00"].mean() == pytest.approx(5, abs=1.5)
    assert cur["n01"].std() / ref["n01"].std() == pytest.approx(1.5, abs=0.15)
    assert [ref[c].nunique() for c in data.CATEGORICAL] == [5, 2, 12, 40, 200]
    assert ref["n16"].isna().mean() == pytest.approx(0.05, abs=0.02)


def test_shipyard_side_flags_the_shifted_columns(bench: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    data, child, monitoring = bench
    reference, current = data.write_pair(tmp_path, 10_000, 0, shifted=True)
    profile = tmp_path / "profile.json"
    files = {"reference": reference, "current": current}
    fitted = child.shipyard_drift({**files, "profile_out": str(profile)})
    scored = child.shipyard_score({"profile": str(profile), "current": current})
    assert fitted["flagged"] == scored["flagged"] == data.SHIFTED
    assert fitted["seconds"] == pytest.approx(fitted["fit_seconds"] + fitted["score_seconds"])
    assert fitted["peak_mb"] > 0 and monitoring.hits(fitted["flagged"]) == {
        "true_positives": 4,
        "false_positives": 0,
    }
    null = [data.write_pair(tmp_path / "null", 3_000, s, shifted=False) for s in range(2)]
    runs = child.shipyard_fpr({"pairs": null})["runs"]
    rates = monitoring.false_positive_rates(runs)
    assert rates["windows"] == 2 and rates["ks_trials"] == 40 and rates["chi2_trials"] == 10
    assert 0 <= rates["verdict"] <= 0.2
    case = {**fitted, **monitoring.hits(fitted["flagged"])}
    results = {
        "drift": {"10000": {"shipyard fit + score": case}},
        "fpr": {"3000": {"shipyard": rates}},
        "load_before": (0.0, 0.0, 0.0),
        "load_after": (0.0, 0.0, 0.0),
    }
    from rich.console import Console

    out = Console(record=True, width=200)
    monitoring.render(results, out)
    text = out.export_text()
    assert "shipyard fit + score" in text and "n00, n01, n02, c_plan" in text
