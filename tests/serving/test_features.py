"""A model trained from a feature service is served with entity keys only: the model server
fetches the features from the online store before the signature check."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard import features as fs
from shipyard.serving import FEATURE_SERVICE_KEY
from shipyard.tracking import Client


def test_entity_keys_in_features_from_the_online_store_out(
    start: Any, sqlite_sdk: Client, tmp_path: Path
) -> None:
    now = pd.Timestamp.now(tz="UTC").floor("s")
    events = pd.DataFrame(
        {
            "user_id": [1, 2, 3, 4],
            "event_timestamp": [now - pd.Timedelta(hours=1)] * 4,
            "clicks": np.array([1, 5, 9, 2], dtype="int64"),
            "spend": [10.0, 80.0, 30.0, 5.0],
        }
    )
    events.to_parquet(tmp_path / "stats.parquet")
    user = fs.Entity("user", join_keys=["user_id"])
    stats = fs.FeatureView(
        "stats",
        entities=[user],
        source=fs.FileSource(str(tmp_path / "stats.parquet")),
        schema=[fs.Field("clicks", "int64"), fs.Field("spend", "float64")],
        ttl=timedelta(days=1),
    )
    fs.apply([user, stats, fs.FeatureService("scoring", [stats])])
    fs.materialize()
    X, y = events[["clicks", "spend"]], [0, 1, 1, 0]
    model = LogisticRegression().fit(X, y)
    version = shipyard.register_model(
        model, "clicky", input_example=X.head(2), tags={FEATURE_SERVICE_KEY: "scoring"}
    )
    shipyard.set_alias("clicky", "champion", version.version)

    with start("clicky@champion") as server:
        answer = httpx.post(f"{server.url}/predict", json=[{"user_id": 3}, {"user_id": 1}])
        unknown = httpx.post(f"{server.url}/predict", json=[{"user_id": 999}])
    assert answer.status_code == 200, answer.text
    expected = model.predict(X.iloc[[2, 0]])
    assert [int(p) for p in answer.json()["predictions"]] == expected.tolist()
    # an entity the online store has never seen has no features: a 4xx naming the column
    assert unknown.status_code == 422 and unknown.json()["field"] in ("clicks", "spend")
