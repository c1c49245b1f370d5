"""Performance with delayed labels: the join on (prediction_id, row), metrics per window and
version with the labelled count, CBPE estimates before labels, and refused unknown ids."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.config import Settings
from shipyard.errors import InvalidArgument, NotFound
from shipyard.monitoring import log_labels, performance
from shipyard.monitoring._performance import estimated_metrics, window_ms

HOUR = 3_600_000


@pytest.fixture
def now() -> int:
    return int(time.time() * 1000) // HOUR * HOUR - 3 * HOUR


def test_classification_metrics_per_window_and_version(
    write_predictions: Any, sqlite_settings: Settings, now: int
) -> None:
    rng = np.random.default_rng(0)
    n = 2_000
    scores = rng.random(n)
    truth = (rng.random(n) < scores).astype(int)  # calibrated scores
    x = pd.DataFrame({"x": rng.normal(size=n)})
    first = write_predictions(
        sqlite_settings, "churn", x[:1_000], scores[:1_000], ts=now, rows_per_request=4
    )
    second = write_predictions(
        sqlite_settings, "churn", x[1_000:], scores[1_000:], ts=now + HOUR + 5, version=2
    )
    # labels arrive for half of the first hour and a few of the second
    log_labels(
        first["prediction_id"][:500],
        truth[:500],
        rows=first["row"][:500],
        model="churn",
        check=True,
        settings=sqlite_settings,
    )
    log_labels(
        second["prediction_id"][:12], truth[1_000:1_012], model="churn", settings=sqlite_settings
    )

    report = performance("churn", window="1h", settings=sqlite_settings)
    assert report.task == "classification" and report.unmatched_labels == 0
    one, two = report.rows
    assert (one.window_start, one.version, one.predictions, one.labelled) == (now, 1, 1_000, 500)
    assert (two.window_start, two.version, two.labelled) == (now + HOUR, 2, 12)
    expected = ((scores[:500] >= 0.5).astype(int) == truth[:500]).mean()
    assert one.metrics["accuracy"] == pytest.approx(expected)
    assert {"precision", "recall", "f1", "auc", "calibration_error"} <= set(one.metrics)
    assert 0.7 < one.metrics["auc"] < 0.9 and one.metrics["calibration_error"] < 0.1
    # CBPE over all 1,000 predictions is close to the truth over the labelled ones
    assert one.metrics["estimated_accuracy"] == pytest.approx(0.75, abs=0.05)
    assert one.metrics["estimated_auc"] == pytest.approx(one.metrics["auc"], abs=0.06)
    table = report.table()
    assert list(table["labelled"]) == [500, 12] and "estimated_auc" in table
    assert report.latest()["labelled"] == 12


def test_estimates_before_any_label(
    write_predictions: Any, sqlite_settings: Settings, now: int
) -> None:
    scores = np.linspace(0.01, 0.99, 300)
    write_predictions(sqlite_settings, "m", pd.DataFrame({"x": scores}), scores, ts=now)
    report = performance("m", settings=sqlite_settings)
    row = report.rows[0]
    assert row.labelled == 0 and "accuracy" not in row.metrics
    assert row.metrics["estimated_accuracy"] == pytest.approx(0.745, abs=0.01)
    # perfectly calibrated scores: the estimate is the expected AUC
    assert 0.5 < row.metrics["estimated_auc"] < 1.0


def test_regression_metrics(write_predictions: Any, sqlite_settings: Settings, now: int) -> None:
    truth = np.array([10.0, 20.0, 30.5, 0.0])
    predicted = np.array([12.0, 18.0, 30.5, 1.0])
    logged = write_predictions(
        sqlite_settings, "price", pd.DataFrame({"x": truth}), predicted, ts=now
    )
    log_labels(logged["prediction_id"], truth, settings=sqlite_settings)
    row = performance("price", settings=sqlite_settings).rows[0]
    assert row.metrics["mae"] == pytest.approx(5 / 4)
    assert row.metrics["rmse"] == pytest.approx(np.sqrt(9 / 4))
    assert row.metrics["mape"] == pytest.approx((0.2 + 0.1 + 0) / 3)


def test_class_label_outputs(write_predictions: Any, sqlite_settings: Settings, now: int) -> None:
    predicted = np.array(["yes", "no", "yes", "no"], dtype=object)
    logged = write_predictions(
        sqlite_settings, "c", pd.DataFrame({"x": [1, 2, 3, 4]}), predicted, ts=now
    )
    log_labels(logged["prediction_id"], ["yes", "no", "no", "no"], settings=sqlite_settings)
    metrics = performance("c", settings=sqlite_settings).rows[0].metrics
    assert metrics["accuracy"] == 0.75 and metrics["precision"] == 0.5 and metrics["recall"] == 1.0
    assert "auc" not in metrics and "estimated_accuracy" not in metrics


def test_labels_for_unknown_predictions_are_refused(
    write_predictions: Any, sqlite_settings: Settings, now: int
) -> None:
    logged = write_predictions(
        sqlite_settings, "m", pd.DataFrame({"x": [1.0]}), np.array([0.3]), ts=now
    )
    with pytest.raises(NotFound, match=r"not in the prediction log.*nope/0.*nothing was written"):
        log_labels(
            [logged["prediction_id"][0], "nope"], [1, 0], check=True, settings=sqlite_settings
        )
    with pytest.raises(NotFound, match="/3"):
        log_labels(
            [logged["prediction_id"][0]], [1], rows=[3], check=True, settings=sqlite_settings
        )
    assert performance("m", settings=sqlite_settings).rows[0].labelled == 0  # nothing written
    log_labels(["nope"], [1], settings=sqlite_settings)  # unchecked: counted as unmatched
    assert performance("m", settings=sqlite_settings).unmatched_labels == 1
    with pytest.raises(NotFound, match="of model 'other'"):
        log_labels(
            [logged["prediction_id"][0]], [1], model="other", check=True, settings=sqlite_settings
        )


def test_window_parsing_and_estimates() -> None:
    assert window_ms("15m") == 900_000 and window_ms("1d") == 86_400_000 and window_ms(5) == 5
    with pytest.raises(InvalidArgument, match="like 15m, 1h, 1d"):
        window_ms("hourly")
    sure = estimated_metrics(np.array([0.0, 0.0, 1.0, 1.0]))
    assert sure["estimated_accuracy"] == 1.0 and sure["estimated_auc"] == 1.0
