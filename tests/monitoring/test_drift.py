"""Reference profiles and drift tests: shifted columns are flagged, unshifted ones are not,
tiny shifts on huge windows are not alerts, scoring streams in chunks, and bad input is a
clear error."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import shipyard
from shipyard.errors import InvalidArgument, SchemaError
from shipyard.monitoring import (
    DriftOptions,
    ReferenceProfile,
    drift,
    fit_reference,
    load_reference,
)


def frame(n: int, seed: int, *, shift: float = 0.0, plan_p: tuple[float, ...] = (0.5, 0.3, 0.2)):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + shift, 10, n),
            "spend": rng.gamma(2.0, 30.0, n),
            "visits": rng.poisson(3, n),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=list(plan_p)),
            "active": rng.random(n) < 0.7,
        }
    )


@pytest.fixture(scope="module")
def reference() -> ReferenceProfile:
    return fit_reference(frame(20_000, 0), save=False)


def test_profile_keeps_bins_levels_stats_and_a_sample(reference: ReferenceProfile) -> None:
    age, plan, active = (
        reference.columns["age"],
        reference.columns["plan"],
        reference.columns["active"],
    )
    assert age.kind == "numeric" and len(age.edges) == 9 and sum(age.bin_counts) == 20_000
    assert len(age.sample) == 10_000 and abs(age.stats["mean"] - 40) < 0.5
    assert plan.kind == "categorical" and set(plan.levels) == {"basic", "plus", "pro"}
    assert active.kind == "categorical" and set(active.levels) == {"True", "False"}
    again = ReferenceProfile.from_dict(reference.to_dict())
    assert again.columns == reference.columns


def test_unshifted_window_is_not_drifted(reference: ReferenceProfile) -> None:
    report = drift(reference, frame(5_000, 1))
    assert report.drifted_columns == [] and report.share_drifted == 0 and not report.drifted
    ks = report.column("age").test("ks")
    assert ks is not None and ks.p_value is not None and ks.threshold == 0.05


def test_shifted_columns_are_flagged_with_statistics(reference: ReferenceProfile) -> None:
    report = drift(reference, frame(5_000, 2, shift=5.0, plan_p=(0.2, 0.3, 0.5)))
    assert report.drifted_columns == ["age", "plan"]
    assert report.share_drifted == pytest.approx(2 / 5) and not report.drifted
    age = report.column("age")
    assert {r.test for r in age.tests} == {"ks", "wasserstein", "psi", "missing_share"}
    assert age.test("wasserstein").statistic == pytest.approx(0.5, abs=0.05)  # type: ignore[union-attr]
    plan = report.column("plan")
    assert plan.test("chi2").p_value < 1e-10  # type: ignore[operator, union-attr]
    assert plan.test("jensen_shannon").verdict and plan.test("psi").verdict  # type: ignore[union-attr]
    table = report.table()
    assert set(table.columns) >= {"column", "test", "statistic", "p_value", "threshold", "verdict"}


def test_a_trivial_shift_on_a_huge_window_is_not_an_alert() -> None:
    ref = fit_reference(frame(200_000, 3), save=False)
    report = drift(ref, frame(200_000, 4, shift=0.3), columns=["age"], sample_size=200_000)
    age = report.column("age")
    assert age.test("ks").verdict  # significant ...  # type: ignore[union-attr]
    assert age.test("wasserstein").statistic < 0.1  # ... but 0.03 sd is no drift  # type: ignore[union-attr]
    assert not age.drifted


def test_new_categories_and_missing_share(reference: ReferenceProfile) -> None:
    current = frame(4_000, 5)
    current.loc[:399, "plan"] = "enterprise"
    current.loc[:999, "age"] = np.nan
    report = drift(reference, current)
    new = report.column("plan").test("new_categories")
    assert new is not None and new.statistic == pytest.approx(0.1) and new.verdict
    missing = report.column("age").test("missing_share")
    assert missing is not None and missing.statistic == pytest.approx(0.25) and missing.verdict
    assert {"age", "plan"} <= set(report.drifted_columns)


def test_importances_weight_the_share(reference: ReferenceProfile) -> None:
    current = frame(5_000, 6, shift=5.0)
    weights = {"age": 8.0, "spend": 1.0, "visits": 1.0}
    report = drift(reference, current, columns=list(weights), importances=weights)
    assert report.drifted_columns == ["age"] and report.share_drifted == pytest.approx(0.8)
    assert report.drifted


def test_streaming_chunks_give_the_same_counts(reference: ReferenceProfile, tmp_path: Path) -> None:
    current = frame(30_000, 7, shift=3.0)
    whole = drift(reference, current)
    chunked = drift(reference, current, chunk_rows=1_000)
    pieces = drift(reference, (current.iloc[i : i + 7_000] for i in range(0, 30_000, 7_000)))
    current.to_parquet(tmp_path / "w.parquet", row_group_size=4_000)
    from_file = drift(reference, tmp_path / "w.parquet", chunk_rows=2_500)
    for other in (chunked, pieces, from_file):
        assert other.n_current == 30_000
        for a, b in zip(whole.columns, other.columns, strict=True):
            assert a.current["missing"] == b.current["missing"]
            assert a.current.get("bin_counts") == b.current.get("bin_counts")
            assert a.current.get("levels") == b.current.get("levels")
            assert a.test("psi") == b.test("psi") and a.test("chi2") == b.test("chi2")
        assert other.drifted_columns == whole.drifted_columns == ["age"]


def test_tests_and_thresholds_are_overridable(reference: ReferenceProfile) -> None:
    current = frame(5_000, 8, shift=2.0)
    report = drift(reference, current, tests={"age": ["psi"]}, thresholds={"psi": 0.01})
    assert [r.test for r in report.column("age").tests] == ["psi", "missing_share"]
    assert report.column("age").drifted
    with pytest.raises(InvalidArgument, match="does not apply to numeric column 'age'"):
        drift(reference, current, tests={"age": ["chi2"]})


def test_an_options_object_scores_like_the_keywords_it_replaces(
    reference: ReferenceProfile,
) -> None:
    current = frame(5_000, 8, shift=2.0)
    options = DriftOptions(
        columns=["age", "plan"], tests={"age": ["psi"]}, thresholds={"psi": 0.01}, alpha=0.01
    )
    by_object = drift(reference, current, options)
    by_keywords = drift(
        reference,
        current,
        columns=["age", "plan"],
        tests={"age": ["psi"]},
        thresholds={"psi": 0.01},
        alpha=0.01,
    )
    assert by_object.to_dict() == by_keywords.to_dict()
    assert [c.column for c in by_object.columns] == ["age", "plan"] and by_object.alpha == 0.01
    assert by_object.column("age").drifted  # held to the 0.01 psi threshold
    # keywords given with an object replace its fields and keep the rest
    mixed = drift(reference, current, options, alpha=0.2)
    assert mixed.alpha == 0.2 and [c.column for c in mixed.columns] == ["age", "plan"]
    assert options.alpha == 0.01  # the object itself is unchanged, and cannot be changed
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.alpha = 0.5  # type: ignore[misc]


def test_an_unknown_drift_option_is_a_type_error_naming_it(reference: ReferenceProfile) -> None:
    with pytest.raises(TypeError, match=r"unknown drift option\(s\) alpah; DriftOptions has"):
        drift(reference, frame(100, 9), alpah=0.01)


@pytest.mark.parametrize(
    ("option", "field"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.5}, "alpha"),
        ({"chunk_rows": 0}, "chunk_rows"),
    ],
)
def test_out_of_range_drift_options_name_their_field(
    reference: ReferenceProfile, option: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidArgument, match=f"{field} must be") as raised:
        DriftOptions(**option)
    assert raised.value.field == field
    with pytest.raises(InvalidArgument) as by_keyword:
        drift(reference, frame(100, 9), **option)
    assert by_keyword.value.field == field


def test_bad_input_is_a_clear_error(reference: ReferenceProfile, tmp_path: Path) -> None:
    current = frame(100, 9)
    with pytest.raises(SchemaError, match="missing column\\(s\\) 'plan'"):
        drift(reference, current.drop(columns=["plan"]))
    current.drop(columns=["plan"]).to_parquet(tmp_path / "c.parquet")
    with pytest.raises(SchemaError, match="'plan'"):
        drift(reference, tmp_path / "c.parquet")
    with pytest.raises(InvalidArgument, match="no rows"):
        drift(reference, current.iloc[:0])
    with pytest.raises(InvalidArgument, match="no column 'nope'"):
        drift(reference, current, columns=["nope"])
    with pytest.raises(InvalidArgument, match="no rows"):
        fit_reference(current.iloc[:0], save=False)
    with pytest.raises(InvalidArgument, match="must be a DataFrame"):
        drift(reference, 42)


def test_reference_from_a_dataset_version_is_stored_as_a_blob(sdk: shipyard.Client) -> None:
    version = shipyard.data.register("customers", frame(2_000, 10))
    profile = fit_reference("customers@latest", categorical=["visits"])
    assert profile.source == version.ref and len(profile.digest) == 64
    assert profile.columns["visits"].kind == "categorical"
    again = load_reference(profile.digest)
    assert again.columns == profile.columns and again.source == version.ref
    assert drift(again, frame(1_000, 11)).drifted_columns == []


def test_a_parquet_reference_matches_the_dataframe_one(tmp_path: Path) -> None:
    data = frame(20_000, 12)
    data.loc[:99, "age"] = np.nan
    data.loc[:49, "plan"] = None
    data.index = np.arange(len(data)) * 2  # a stored pandas index is not a column
    path = tmp_path / "reference.parquet"
    data.to_parquet(path, row_group_size=3_000)
    in_memory = fit_reference(data, save=False)
    from_file = fit_reference(path, save=False)  # read column by column through Arrow
    assert list(from_file.columns) == list(in_memory.columns) and from_file.num_rows == 20_000
    for name, want in in_memory.columns.items():
        got = from_file.columns[name]
        assert (got.kind, got.count, got.missing) == (want.kind, want.count, want.missing)
        assert got.edges == pytest.approx(want.edges) and got.bin_counts == want.bin_counts
        assert got.levels == want.levels and got.sample == want.sample
        assert got.stats == pytest.approx(want.stats)
    assert from_file.columns["age"].missing == 100 and from_file.columns["plan"].missing == 50
    assert drift(from_file, path).drifted_columns == []
    with pytest.raises(InvalidArgument, match="no column 'nope'"):
        fit_reference(path, columns=["nope"], save=False)
