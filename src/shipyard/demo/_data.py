"""The demo's data, through the feature store: scikit-learn's breast-cancer set (bundled;
nothing is downloaded) as a feature view of the ``patient`` entity.

The training set is a point-in-time join of the labels with the ``demo-features`` service,
saved as the dataset version the training pipeline reads. The features are then materialized
into the online store and looked up for a few patients.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from shipyard import data, features as fs
from shipyard.demo._names import DATASET
from shipyard.entities import DatasetVersion

TARGET = "target"
PATIENT = "patient_id"
FEATURE_SERVICE = "demo-features"
_MEASURED = pd.Timestamp("2024-01-01")  # naive: profiles of aware times need pytz


def register_dataset(name: str = DATASET) -> DatasetVersion:
    """The training set as a version of dataset ``name`` (the same version every time): the
    labels joined point-in-time with the ``demo-features`` service of the feature store."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    ids = pd.Series(range(len(frame)), dtype="int64")
    measured = _MEASURED + pd.to_timedelta(ids, unit="min")
    measurements = frame.drop(columns=[TARGET]).assign(
        **{PATIENT: ids, "event_timestamp": measured}
    )
    patient = fs.Entity("patient", [PATIENT])
    view = fs.FeatureView(
        "measurements",
        [patient],
        measurements,
        schema=[fs.Field(c, "float64") for c in frame.columns if c != TARGET],
        ttl=pd.Timedelta(days=30).to_pytimedelta(),
        description="scikit-learn's breast-cancer measurements",
    )
    fs.apply([patient, view, fs.FeatureService(FEATURE_SERVICE, [view])])
    labels = pd.DataFrame(
        {PATIENT: ids, "event_timestamp": measured + pd.Timedelta(days=1), TARGET: frame[TARGET]}
    )
    fs.get_historical_features(labels, FEATURE_SERVICE, save_as=name)
    return data.get(f"{name}@latest")


def serve_features(patients: list[int]) -> dict[str, Any]:
    """Materialize the demo features online and look up a few patients (as of two days
    after the measurements, within the view's TTL)."""
    done = fs.materialize(views=["measurements"])
    as_of = (_MEASURED + pd.Timedelta(days=2)).to_pydatetime()
    online = fs.get_online_features([{PATIENT: p} for p in patients], FEATURE_SERVICE, as_of=as_of)
    return {
        "service": FEATURE_SERVICE,
        "materialized": sum(m.rows for m in done),
        "patients": patients,
        "mean radius": online.values["mean radius"],
        "statuses": online.statuses["mean radius"],
    }
