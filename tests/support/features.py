"""Pytest plugin: ``stats_features``, the small feature set the serving and fault tests serve
from an online store: entity ``user`` (join key ``user_id``), feature view ``stats`` (``clicks``
int64, ``spend`` float64, a day's TTL) over a Parquet file of four users' events, and feature
service ``scoring`` over it; and ``feature_model``, a model trained on those features and
registered to be served with entity keys only (``clicky@champion``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest


def _define_stats(folder: Path) -> pd.DataFrame:
    """Write the events to ``folder/stats.parquet``, apply the definitions to the configured
    store, and return the events (one row per user, an hour old)."""
    from shipyard import features as fs

    now = pd.Timestamp.now(tz="UTC").floor("s")
    events = pd.DataFrame(
        {
            "user_id": [1, 2, 3, 4],
            "event_timestamp": [now - pd.Timedelta(hours=1)] * 4,
            "clicks": np.array([1, 5, 9, 2], dtype="int64"),
            "spend": [10.0, 80.0, 30.0, 5.0],
        }
    )
    source = folder / "stats.parquet"
    events.to_parquet(source)
    user = fs.Entity("user", join_keys=["user_id"])
    stats = fs.FeatureView(
        "stats",
        entities=[user],
        source=fs.FileSource(str(source)),
        schema=[fs.Field("clicks", "int64"), fs.Field("spend", "float64")],
        ttl=timedelta(days=1),
    )
    fs.apply([user, stats, fs.FeatureService("scoring", [stats])])
    return events


def _register_feature_model(events: pd.DataFrame) -> Any:
    """Fit a classifier on the events' ``clicks`` and ``spend``, register it as ``clicky``
    (alias ``champion``) tagged with feature service ``scoring``; return the fitted model."""
    from sklearn.linear_model import LogisticRegression

    import shipyard
    from shipyard.serving import FEATURE_SERVICE_KEY

    X = events[["clicks", "spend"]]
    model = LogisticRegression().fit(X, [0, 1, 1, 0])
    version = shipyard.register_model(
        model, "clicky", input_example=X.head(2), tags={FEATURE_SERVICE_KEY: "scoring"}
    )
    shipyard.set_alias("clicky", "champion", version.version)
    return model


@pytest.fixture
def feature_model() -> Callable[[pd.DataFrame], Any]:
    """Registers ``clicky@champion`` in the configured store, served from the ``scoring``
    features: ``feature_model(events) -> the fitted model``."""
    return _register_feature_model


@pytest.fixture
def stats_features() -> Callable[[Path], pd.DataFrame]:
    """Defines the ``stats`` view and ``scoring`` service in the configured store:
    ``stats_features(folder) -> events`` (the view's source rows, written to ``folder``)."""
    return _define_stats
