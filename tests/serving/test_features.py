"""A model trained from a feature service is served with entity keys only: the model server
fetches the features from the online store before the signature check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from shipyard import features as fs
from shipyard.tracking import Client


def test_entity_keys_in_features_from_the_online_store_out(
    start: Any, sqlite_sdk: Client, stats_features: Any, feature_model: Any, tmp_path: Path
) -> None:
    events = stats_features(tmp_path)
    fs.materialize()
    model = feature_model(events)
    X = events[["clicks", "spend"]]

    with start("clicky@champion") as server:
        answer = httpx.post(f"{server.url}/predict", json=[{"user_id": 3}, {"user_id": 1}])
        unknown = httpx.post(f"{server.url}/predict", json=[{"user_id": 999}])
    assert answer.status_code == 200, answer.text
    expected = model.predict(X.iloc[[2, 0]])
    assert [int(p) for p in answer.json()["predictions"]] == expected.tolist()
    # an entity the online store has never seen has no features: a 4xx naming the column
    assert unknown.status_code == 422 and unknown.json()["field"] in ("clicks", "spend")
