"""Fixtures of the monitoring tests: synthetic customers, a model trained and promoted on them,
and traffic written to the prediction log in the server's layout.

Each fixture hands the test a function, so one test can make as much data as it needs."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.config import Settings
from shipyard.serving import INPUT_PREFIX
from shipyard.serving._prediction_log import LogFiles
from shipyard.tracking import Client


def _write_predictions(
    settings: Settings,
    model: str,
    inputs: pd.DataFrame,
    outputs: np.ndarray,
    *,
    ts: np.ndarray | int,
    version: int = 1,
    rows_per_request: int = 1,
) -> pd.DataFrame:
    """Log ``inputs`` and ``outputs`` as the server would (``rows_per_request`` rows per
    prediction id); returns the rows written."""
    n = len(inputs)
    ids = [uuid.uuid4().hex for _ in range(0, n, rows_per_request)]
    frame = pd.DataFrame(
        {
            "prediction_id": np.repeat(ids, rows_per_request)[:n],
            "row": np.tile(np.arange(rows_per_request), len(ids))[:n].astype("int32"),
            "ts": np.broadcast_to(np.asarray(ts, dtype="int64"), (n,)).copy(),
            "model": model,
            "version": np.int32(version),
            "alias": "champion",
            "role": "primary",
            "latency_ms": 1.0,
        }
    )
    frame = pd.concat(
        [
            frame,
            inputs.reset_index(drop=True).add_prefix(INPUT_PREFIX),
            pd.DataFrame({"output": outputs}),
        ],
        axis=1,
    )
    LogFiles(settings).write(frame, "predictions", model)
    return frame


def _customers(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.normal(40 + shift, 10, n), "spend": rng.gamma(2.0, 30.0, n)})
    frame["churn"] = (rng.random(n) < 1 / (1 + np.exp((frame["age"] - 40) / 10))).astype(int)
    return frame


def _train(client: Client) -> LogisticRegression:
    shipyard.data.register("customers", _customers(3_000, 0))
    with shipyard.start_run(experiment="churn"):
        data = shipyard.data.load("customers@latest")
        X, y = data[["age", "spend"]], data["churn"]
        model = LogisticRegression().fit(X, y)
        version = shipyard.register_model(model, "churn", input_example=X.head())
    shipyard.set_alias("churn", "champion", version.version)
    return model


def _traffic(
    client: Client, model: LogisticRegression, at: int, shift: float, n: int = 600, seed: int = 1
):
    # a fixed seed per call (not one derived from the clock), so the outcome never depends
    # on the time of day the test runs
    current = _customers(n, seed, shift)
    scores = model.predict_proba(current[["age", "spend"]])[:, 1]
    logged = _write_predictions(client.settings, "churn", current[["age", "spend"]], scores, ts=at)
    return logged, current["churn"].to_numpy()


@pytest.fixture
def write_predictions() -> Callable[..., pd.DataFrame]:
    """Writes rows to the prediction log as the model server would."""
    return _write_predictions


@pytest.fixture
def customers() -> Callable[..., pd.DataFrame]:
    """Makes ``n`` synthetic customers (age, spend, churn), ages shifted by ``shift``."""
    return _customers


@pytest.fixture
def train() -> Callable[[Client], LogisticRegression]:
    """Registers customers@1, trains churn v1 on it in a run, and makes it the champion."""
    return _train


@pytest.fixture
def traffic() -> Callable[..., tuple[pd.DataFrame, np.ndarray]]:
    """Scores fresh customers with a model and logs them as predictions at a given time."""
    return _traffic
