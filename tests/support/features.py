"""Pytest plugin: ``stats_features``, the small feature set the serving and fault tests serve
from an online store: entity ``user`` (join key ``user_id``), feature view ``stats`` (``clicks``
int64, ``spend`` float64, a day's TTL) over a Parquet file of four users' events, and feature
service ``scoring`` over it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

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


@pytest.fixture
def stats_features() -> Callable[[Path], pd.DataFrame]:
    """Defines the ``stats`` view and ``scoring`` service in the configured store:
    ``stats_features(folder) -> events`` (the view's source rows, written to ``folder``)."""
    return _define_stats
