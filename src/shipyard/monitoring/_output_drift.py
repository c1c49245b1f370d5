"""Prediction drift and target drift: the model's output and the ground truth, tested like a
feature column.

The **output reference** is a second small profile fitted once per model version, when the
feature reference is fitted, from the same training data:

- ``prediction``: the model version's predictions on its training data (on a uniform sample
  of at most ``PREDICT_ROWS`` rows), made by the same loader the model server uses, so the
  values match what the prediction log's ``output`` holds (for a vector output such as
  class probabilities, its last entry: the positive class's);
- ``target``: the training data's label column: the monitor's ``target`` option, or else
  the one column of the training data that is not a model input, when there is exactly one.

Integer, boolean and text values with at most ``MAX_CLASSES`` levels are profiled as
categories (class labels); other numbers as numbers (scores, probabilities, regression
targets). A part that cannot be fitted (a model that cannot be loaded without trusting its
pickle, no label column) is left out and the reason kept, and the run goes on.

In a run, prediction drift tests the window's logged ``output`` values; target drift tests
the labels that have arrived so far for the window's predictions (the same rows the
performance metrics use, so it waits for labels like they do).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from shipyard.client import Store
from shipyard.entities import ModelVersion
from shipyard.errors import ShipyardError
from shipyard.monitoring._drift import score
from shipyard.monitoring._options import DriftOptions
from shipyard.monitoring._profile import ReferenceProfile, fit_profile, save_profile

PREDICTION, TARGET = "prediction", "target"
OUTPUTS = (PREDICTION, TARGET)
PREDICT_ROWS = 100_000
MAX_CLASSES = 20


def output_values(values: pd.Series) -> pd.Series:
    """Logged (or predicted) outputs as one value per row: a vector's last entry."""
    if len(values) and isinstance(values.iloc[0], list | tuple | np.ndarray):
        return pd.Series([np.asarray(v).reshape(-1)[-1] for v in values], index=values.index)
    return values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(values)


def _is_classes(values: pd.Series) -> bool:
    dtype = values.dtype
    if pd.api.types.is_float_dtype(dtype):
        return False
    return int(values.nunique(dropna=True)) <= MAX_CLASSES


def _predictions(version: ModelVersion, frame: pd.DataFrame, inputs: Sequence[str]) -> pd.Series:
    from shipyard import models

    model = models.load(f"{version.name}/{version.version}", enforce_signature=False)
    sample = frame if len(frame) <= PREDICT_ROWS else frame.sample(PREDICT_ROWS, random_state=0)
    out = model.predict(sample[list(inputs)])
    array = out.to_numpy() if hasattr(out, "to_numpy") else np.asarray(out)
    series = pd.Series(list(array)) if array.ndim > 1 else pd.Series(array)
    return output_values(series)


def fit_outputs(
    store: Store,
    version: ModelVersion,
    frame: pd.DataFrame,
    inputs: Sequence[str],
    target: str | None,
    source: str,
) -> tuple[ReferenceProfile | None, dict[str, str]]:
    """The saved output reference (None when neither part could be fitted) and, per part left
    out, why."""
    parts: dict[str, pd.Series] = {}
    skipped: dict[str, str] = {}
    try:
        parts[PREDICTION] = _predictions(version, frame, inputs)
    except Exception as exc:  # the model's own code: any failure leaves prediction drift out
        skipped[PREDICTION] = f"could not predict on the training data: {exc}"
    leftover = [c for c in frame.columns if c not in set(inputs)]
    column = target or (leftover[0] if len(leftover) == 1 else None)
    if column is None:
        skipped[TARGET] = (
            "no target column: create the monitor with target='<label column>' "
            f"(training data columns that are not model inputs: {', '.join(leftover) or 'none'})"
        )
    elif column not in frame.columns:
        skipped[TARGET] = f"the training data has no target column {column!r}"
    else:
        parts[TARGET] = frame[column].reset_index(drop=True)
    parts = {k: v for k, v in parts.items() if v.notna().any()}
    if not parts:
        return None, skipped
    data = pd.DataFrame({k: v.reset_index(drop=True) for k, v in parts.items()})
    classes = [k for k, v in parts.items() if _is_classes(v)]
    profile = fit_profile(data, categorical=classes, source=source)
    return save_profile(profile, store), skipped


def output_drift(
    reference: ReferenceProfile | None,
    skipped: Mapping[str, str],
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    options: DriftOptions,
) -> tuple[dict[str, Any], dict[str, float]]:
    """The ``prediction_drift`` and ``target_drift`` results of a run and their flat metrics
    (``prediction_drifted``, ``prediction_drift.<test>``, likewise for the target). Of the
    run's ``options`` only ``alpha`` and the thresholds for every column apply: the tests and
    importances name feature columns."""
    current = {PREDICTION: output_values(predictions["output"]) if len(predictions) else None}
    if len(predictions) and len(labels):
        joined = predictions[["prediction_id", "row"]].merge(
            labels.drop_duplicates(["prediction_id", "row"], keep="last"),
            on=["prediction_id", "row"],
        )
        current[TARGET] = joined["label"].reset_index(drop=True)
    results: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    for part in OUTPUTS:
        values = current.get(part)
        if reference is None or part not in reference.columns:
            reason = skipped.get(part, "no output reference")
            results[f"{part}_drift"] = {"skipped": reason}
            continue
        if values is None or not len(values):
            why = "no labels yet for the window's predictions" if part == TARGET else "no rows"
            results[f"{part}_drift"] = {"skipped": why}
            continue
        frame = pd.DataFrame({part: _like(values, reference.columns[part].kind)})
        try:
            part_options = DriftOptions(
                columns=[part], alpha=options.alpha, thresholds=options.thresholds
            )
            report = score(reference, frame, part_options)
        except ShipyardError as exc:
            results[f"{part}_drift"] = {"skipped": str(exc)}
            continue
        column = report.columns[0]
        results[f"{part}_drift"] = column.to_dict()
        metrics[f"{part}_drifted"] = 1.0 if column.drifted else 0.0
        for test in column.tests:
            metrics[f"{part}_drift.{test.test}"] = test.statistic
    return results, metrics


def _like(values: pd.Series, kind: str) -> pd.Series:
    """Current values in the reference's form: numbers for a numeric part; for class labels,
    whole floats as integers, so a label logged as 1.0 is the level "1"."""
    if kind == "numeric":
        return pd.to_numeric(values, errors="coerce")
    whole = pd.api.types.is_float_dtype(values.dtype) and values.notna().all()
    if whole and bool((values == values.round()).all()):
        return values.astype("int64")
    return values
