"""Shared helpers of the serving tests: a small registered model and a live model server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.serving import ServingConfig
from shipyard.serving._background import BackgroundServer
from shipyard.tracking import Client


def cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


def register(name: str = "churn", alias: str | None = "champion", **fit: Any) -> int:
    """Register a logistic regression on the breast-cancer data; point ``alias`` at it."""
    X, y = cancer()
    model = LogisticRegression(max_iter=5000, **fit).fit(X, y)
    version = shipyard.register_model(model, name, input_example=X.head())
    if alias:
        shipyard.set_alias(name, alias, version.version)
    return version.version


@pytest.fixture
def served_model(sqlite_sdk: Client) -> tuple[pd.DataFrame, pd.Series]:
    """``churn@champion`` registered in a fresh home; the data it was trained on."""
    register()
    return cancer()


def start(ref: str = "churn@champion", **options: Any) -> BackgroundServer:
    options.setdefault("log_flush_seconds", 0.1)
    options.setdefault("poll_seconds", 0)
    return BackgroundServer(ref, ServingConfig(**options)).start()


@pytest.fixture
def server(served_model: Any) -> Iterator[BackgroundServer]:
    with start() as running:
        yield running


@pytest.fixture
def http(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def v2_body(frame: pd.DataFrame) -> dict[str, Any]:
    """A V2 JSON request with one FP64 tensor per column."""
    return {
        "inputs": [
            {"name": c, "datatype": "FP64", "shape": [len(frame)], "data": frame[c].tolist()}
            for c in frame.columns
        ]
    }
