"""``search_runs`` as a DataFrame: the frame built column by column is exactly the frame of
one record per run (the MLflow-like layout users read), whatever keys each run holds, NaN
metrics, runs still going, an empty page. (Two differences, on purpose: ``end_time`` is a UTC
datetime column even when no run of the page has ended, and the key columns are grouped,
metrics then params then tags, whichever run holds them first.)"""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import given, settings, strategies as st

from shipyard.entities import Run, RunPage
from shipyard.tracking import runs_to_frame
from tests.support.contract import examples

FUZZ = settings(max_examples=examples(150), deadline=None, derandomize=True, database=None)
KEYS = st.sampled_from(["a", "b", "c.d", "e f"])


def _row_wise(page: RunPage) -> pd.DataFrame:
    """The reference: one dict per run, then one frame from the records."""
    records = []
    for run in page.runs:
        row: dict[str, Any] = {
            "run_id": run.id,
            "experiment_id": run.experiment_id,
            "name": run.name,
            "status": run.status,
            "start_time": pd.Timestamp(run.start_time, unit="ms", tz="UTC"),
            "end_time": (
                pd.Timestamp(run.end_time, unit="ms", tz="UTC")
                if run.end_time is not None
                else pd.NaT
            ),
            "duration_s": None if run.duration_ms is None else run.duration_ms / 1000,
            "user": run.user,
            "parent_run_id": run.parent_run_id,
        }
        row.update({f"metrics.{k}": v for k, v in run.metrics.items()})
        row.update({f"params.{k}": v for k, v in run.params.items()})
        row.update({f"tags.{k}": v for k, v in run.tags.items()})
        records.append(row)
    return pd.DataFrame.from_records(records)


@st.composite
def _runs(draw: Any) -> RunPage:
    runs = []
    for index in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, 2**41))
        end = draw(st.none() | st.integers(start, start + 10**9))
        runs.append(
            Run(
                id=f"r{index}",
                experiment_id="1",
                name=f"run {index}",
                status="FINISHED" if end is not None else "RUNNING",
                start_time=start,
                end_time=end,
                parent_run_id=draw(st.none() | st.just("r0")),
                user="ana",
                lifecycle="active",
                params=draw(st.dictionaries(KEYS, st.text(max_size=3))),
                tags=draw(st.dictionaries(KEYS, st.text(max_size=3))),
                metrics=draw(st.dictionaries(KEYS, st.floats(allow_infinity=False))),
            )
        )
    return RunPage(runs, draw(st.none() | st.just("next")))


@FUZZ
@given(_runs())
def test_the_frame_is_the_frame_of_one_record_per_run(page: RunPage) -> None:
    frame = runs_to_frame(page)
    expected = _row_wise(page)
    if expected["end_time"].isna().all():  # records of NaT alone made a naive column
        expected["end_time"] = expected["end_time"].astype("datetime64[us]").dt.tz_localize("UTC")
    # the same columns; ours grouped: run fields, then metrics, params, tags
    assert set(frame.columns) == set(expected.columns)
    groups = [c.split(".")[0] for c in frame.columns[9:]]
    assert groups == sorted(groups, key=["metrics", "params", "tags"].index)
    pd.testing.assert_frame_equal(frame, expected[list(frame.columns)])
    assert frame.attrs["next_page_token"] == page.next_page_token


def test_an_empty_page_is_an_empty_frame_with_the_run_columns() -> None:
    frame = runs_to_frame(RunPage([], None))
    assert frame.empty
    assert list(frame.columns) == ["run_id", "experiment_id", "name", "status", "start_time"]
