"""The prediction log through its one owner, on a local folder and on S3: rows written in the
layout and read back, time windows and columns, inputs under the model's column names, and
labels (checked or not; bad input refused with nothing written)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard import monitoring
from shipyard.config import Settings, load_settings
from shipyard.errors import InvalidArgument, NotFound
from shipyard.serving import (
    iter_predictions,
    log_labels,
    logged_inputs,
    read_labels,
    read_predictions,
)
from shipyard.serving._prediction_log import LogFiles, Record, records_frame

HOUR = 3_600_000


@pytest.fixture
def log_settings(tmp_path: Path, artifacts_uri: str) -> Settings:
    """Settings whose prediction log is under a fresh local folder or S3 bucket."""
    return load_settings(home=tmp_path / ".shipyard", artifacts_uri=artifacts_uri)


def _request(pid: str, ts: int, ages: list[float], model: str = "churn") -> Record:
    """One answered request of ``len(ages)`` rows, as the model server records it."""
    inputs = pd.DataFrame({"age": ages, "plan": pd.Categorical(["basic"] * len(ages))})
    return Record(
        pid, ts, model, 3, "champion", "primary", 1.5, inputs, np.ones(len(ages)), len(ages)
    )


def test_rows_are_written_in_the_layout_and_read_back(log_settings: Settings) -> None:
    files = LogFiles(log_settings)
    now = int(time.time() * 1000)
    [path] = files.write_records([_request("a", now, [30.0, 40.0]), _request("b", now, [50.0])])
    assert path.startswith(f"{files.root}/predictions/model=churn/date=")
    assert path.rsplit("/", 1)[-1].startswith("part-") and path.endswith(".parquet")
    assert [p for p in files.fs.find(files.root) if ".tmp" in p] == []  # nothing half-written
    logged = read_predictions("churn", settings=log_settings)
    assert list(logged.columns) == [
        "prediction_id",
        "row",
        "ts",
        "model",
        "version",
        "alias",
        "role",
        "latency_ms",
        "input.age",
        "input.plan",
        "output",
    ]
    assert list(logged["prediction_id"]) == ["a", "a", "b"] and list(logged["row"]) == [0, 1, 0]
    assert list(logged["input.plan"]) == ["basic"] * 3  # categories stored as plain values
    assert read_predictions("other", settings=log_settings).empty
    with pytest.raises(ValueError, match="one model"):
        files.write_records([_request("c", now, [1.0]), _request("d", now, [1.0], model="x")])


def test_a_window_reads_only_its_rows_and_the_columns_asked(log_settings: Settings) -> None:
    files = LogFiles(log_settings)
    now = int(time.time() * 1000)
    files.write_records(
        [_request("early", now - 2_000, [1.0]), _request("mid", now - 1_000, [2.0])]
    )
    files.write_records([_request("late", now, [3.0])])
    window = read_predictions(
        "churn", start=now - 1_000, end=now, columns=["row", "prediction_id"], settings=log_settings
    )
    assert list(window.columns) == ["row", "prediction_id", "ts"]  # as asked, then ts
    assert list(window["prediction_id"]) == ["mid"]
    chunks = list(iter_predictions("churn", now - 2_000, None, settings=log_settings))
    assert [list(c["prediction_id"]) for c in chunks] == [["early", "mid"], ["late"]]
    assert list(iter_predictions("churn", now + 1, None, settings=log_settings)) == []


def test_logged_inputs_have_the_model_column_names() -> None:
    rows = records_frame([_request("a", 0, [30.0, 40.0])])
    assert list(logged_inputs(rows).columns) == ["age", "plan"]
    assert list(logged_inputs(rows)["age"]) == [30.0, 40.0]
    # only the columns asked for that were logged: a missing one is the caller's to name
    assert list(logged_inputs(rows, ["plan", "income"]).columns) == ["plan"]


def test_labels_are_checked_against_the_log_when_asked(log_settings: Settings) -> None:
    now = int(time.time() * 1000)
    LogFiles(log_settings).write_records([_request("a", now, [30.0, 40.0])])
    assert log_labels(["a", "a"], [1, 0], rows=[0, 1], check=True, settings=log_settings) == 2
    with pytest.raises(NotFound, match=r"not in the prediction log.*a/2, nope/0.*nothing was"):
        log_labels(["a", "nope"], [1, 0], rows=[2, 0], check=True, settings=log_settings)
    with pytest.raises(NotFound, match="of model 'other'"):
        log_labels(["a"], [1], model="other", check=True, settings=log_settings)
    labels = read_labels(settings=log_settings)
    assert list(labels["prediction_id"]) == ["a", "a"]  # the refused ones wrote nothing
    assert log_labels(["nope"], [1], settings=log_settings) == 1  # unchecked: kept
    assert list(read_labels(columns=["prediction_id"], settings=log_settings).columns) == [
        "prediction_id",
        "ts",
    ]


@pytest.mark.parametrize(
    ("ids", "labels", "rows", "field"),
    [
        (["a", "b"], [1], None, "labels"),
        (["a"], [1], [0, 1], "rows"),
        ([""], [1], None, "ids"),
        (["x" * 201], [1], None, "ids"),
        ([7], [1], None, "ids"),
    ],
)
def test_bad_labels_name_the_field_and_write_nothing(
    log_settings: Settings, ids: list[Any], labels: list[Any], rows: list[int] | None, field: str
) -> None:
    for check in (False, True):
        with pytest.raises(InvalidArgument) as raised:
            log_labels(ids, labels, rows=rows, check=check, settings=log_settings)
        assert raised.value.field == field
    assert read_labels(settings=log_settings).empty


def test_monitoring_labels_and_reads_are_the_serving_ones() -> None:
    assert monitoring.log_labels is log_labels
    assert monitoring.read_predictions is read_predictions
    assert monitoring.read_labels is read_labels


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "America/Adak"])
def test_rows_stay_with_their_own_date_when_written_after_midnight(
    log_settings: Settings, frozen_clock: Any, local_timezone: Any, zone: str
) -> None:
    """A row stamped before midnight (UTC) and written after it is read back by a window
    that ends at midnight, whatever the machine's time zone (UTC+14 and UTC-10 here)."""
    local_timezone(zone)
    before = frozen_clock.at_utc(2024, 3, 1, 23, 59, 59, 900_000)
    after = before + 200  # 00:00:00.100 the next day
    frozen_clock.advance(1_100)  # the queue writes both a second later, after midnight
    paths = LogFiles(log_settings).write_records(
        [_request("late-evening", before, [1.0, 2.0]), _request("early-morning", after, [3.0])]
    )
    assert sorted(p.split("/")[-2] for p in paths) == ["date=2024-03-01", "date=2024-03-02"]
    midnight = before + 100
    evening = read_predictions("churn", start=midnight - HOUR, end=midnight, settings=log_settings)
    morning = read_predictions("churn", start=midnight, end=midnight + HOUR, settings=log_settings)
    assert list(evening["prediction_id"]) == ["late-evening", "late-evening"]
    assert list(morning["prediction_id"]) == ["early-morning"]
    every = read_predictions("churn", settings=log_settings)
    assert list(every["prediction_id"]) == ["late-evening", "late-evening", "early-morning"]


def test_logs_of_the_older_layout_are_read_across_midnight(log_settings: Settings) -> None:
    """Files written before rows were partitioned by their own time sit under the date they
    were written: a row stamped before midnight may be in the next day's folder. Reads still
    find it (and skip such files written before the window)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = LogFiles(log_settings)
    midnight = 1_709_337_600_000  # 2024-03-02 00:00 UTC
    old = {
        "date=2024-03-02": (midnight + 1_500, "stamped-before"),
        "date=2024-03-01": (midnight - 5 * HOUR, "hours-earlier"),
    }
    for folder, (written, pid) in old.items():
        frame = records_frame([_request(pid, written - 2_000, [1.0])])
        path = f"{files.root}/predictions/model=churn/{folder}/part-{written}-0123456789ab.parquet"
        files.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with files.fs.open(path, "wb") as fh:
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), fh)
    window = read_predictions("churn", start=midnight - HOUR, end=midnight, settings=log_settings)
    assert list(window["prediction_id"]) == ["stamped-before"]
    assert sorted(read_predictions("churn", settings=log_settings)["prediction_id"]) == [
        "hours-earlier",
        "stamped-before",
    ]


def test_labels_days_after_their_predictions_are_joined(
    log_settings: Settings, frozen_clock: Any
) -> None:
    """Labels are filed under the date they arrive; they are read whatever their date."""
    predicted = frozen_clock.at_utc(2024, 3, 1, 23, 59, 59)
    LogFiles(log_settings).write_records([_request("a", predicted, [30.0, 40.0])])
    frozen_clock.advance(3 * 24 * HOUR)  # three days later, across a month end too
    log_labels(["a"], [1], rows=[1], check=True, settings=log_settings)
    frozen_clock.advance(24 * HOUR)
    log_labels(["a", "a"], [0, 0], rows=[0, 1], settings=log_settings)  # a correction
    labels = read_labels(settings=log_settings)
    assert list(labels["ts"].diff().dropna()) == [24 * HOUR, 0]  # oldest first
    window = read_predictions(
        "churn", start=predicted, end=predicted + 1_000, settings=log_settings
    )
    joined = window.merge(
        labels.drop_duplicates(["prediction_id", "row"], keep="last"), on=["prediction_id", "row"]
    )
    assert list(joined["label"]) == [0, 0]


def test_a_request_answered_before_midnight_and_flushed_after_it_is_in_its_day(
    start: Any, served_model: Any, frozen_clock: Any
) -> None:
    """The model server's own log: answered at 23:59:59.9 UTC, written after midnight."""
    X, _ = served_model
    answered = frozen_clock.at_utc(2024, 3, 1, 23, 59, 59, 900_000)
    with start(log_flush_seconds=3600) as server:
        import httpx

        pid = httpx.post(f"{server.url}/predict", json=X.head(2).to_dict("records")).json()[
            "prediction_id"
        ]
        frozen_clock.advance(HOUR)  # the queue is written at shutdown, an hour later
    window = read_predictions("churn", start=answered - HOUR, end=answered + 100)
    assert list(window["prediction_id"]) == [pid, pid] and list(window["ts"]) == [answered] * 2
