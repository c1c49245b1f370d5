"""Model performance from the prediction log and labels that arrive later.

Predictions and labels are joined on ``(prediction_id, row)``; metrics are computed per time
window (by prediction time) and per model version, each with the count of labelled rows, so
a metric over 12 labels is not read like one over 12,000.

- classification: ``accuracy``, ``precision``, ``recall``, ``f1`` (binary: of the positive
  class; more classes: macro averages), and when probabilities are logged (the ``proba``
  column the model server writes for a classifier, or an output that is a probability: a
  float in [0, 1], or a vector whose last entry is the positive class's): ``auc`` and
  ``calibration_error`` (expected calibration error over 10 equal-width bins);
- regression: ``mae``, ``rmse``, ``mape`` (rows with a zero label left out of ``mape``).

Before labels arrive, classification performance is **estimated** from the model's own
confidence (CBPE, as NannyML does): with calibrated probabilities p, a prediction is right
with probability max(p, 1 - p), so the expected confusion matrix, accuracy, precision,
recall, F1 and ROC AUC follow from the scores of every prediction, labelled or not. These
come back as ``estimated_<metric>`` and are only as good as the model's calibration.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shipyard.config import Settings
from shipyard.errors import InvalidArgument

_WINDOW = re.compile(r"^(\d+)\s*(s|m|h|d|w)$")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "auc", "calibration_error")
REGRESSION = ("mae", "rmse", "mape")


def window_ms(window: str | int) -> int:
    """``"15m"``, ``"1h"``, ``"1d"`` (or milliseconds) as milliseconds."""
    if isinstance(window, int) and not isinstance(window, bool) and window > 0:
        return window
    found = _WINDOW.match(str(window).strip())
    if not found or int(found.group(1)) == 0:
        raise InvalidArgument(
            f"window {window!r} is not a duration; use a number and a unit, like 15m, 1h, 1d",
            field="window",
        )
    return int(found.group(1)) * _UNIT_MS[found.group(2)]


@dataclass(frozen=True)
class PerformanceRow:
    """The metrics of one model version over one time window."""

    window_start: int
    version: int
    predictions: int
    labelled: int
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PerformanceReport:
    """Performance per window and version, the task, and labels that matched no
    prediction."""

    task: str
    window_ms: int
    rows: list[PerformanceRow]
    unmatched_labels: int = 0

    def table(self) -> pd.DataFrame:
        """One row per (window, version): counts and metrics as columns."""
        return pd.DataFrame(
            [
                {
                    "window_start": pd.Timestamp(r.window_start, unit="ms", tz="UTC"),
                    "version": r.version,
                    "predictions": r.predictions,
                    "labelled": r.labelled,
                    **r.metrics,
                }
                for r in self.rows
            ]
        )

    def latest(self) -> dict[str, float]:
        """The metrics over every row of the report (all windows and versions pooled is not
        meaningful, so: the last window, summed over versions by labelled count)."""
        if not self.rows:
            return {}
        last = max(r.window_start for r in self.rows)
        rows = [r for r in self.rows if r.window_start == last]
        total = sum(r.labelled for r in rows)
        out: dict[str, float] = {"labelled": float(total)}
        for key in {k for r in rows for k in r.metrics}:
            vals = [(r.metrics[key], r.labelled or r.predictions) for r in rows if key in r.metrics]
            weight = sum(w for _, w in vals)
            out[key] = float(sum(v * w for v, w in vals) / weight) if weight else float("nan")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "window_ms": self.window_ms,
            "unmatched_labels": self.unmatched_labels,
            "rows": [r.to_dict() for r in self.rows],
        }


def scores_of(output: pd.Series) -> np.ndarray | None:
    """The positive-class probability per row when the output is one, else None."""
    if len(output) == 0:
        return None
    first = output.dropna().iloc[0] if output.notna().any() else None
    if isinstance(first, list | tuple | np.ndarray):
        values = np.asarray(
            [np.asarray(v, dtype="float64")[-1] if v is not None else np.nan for v in output]
        )
    elif pd.api.types.is_float_dtype(output.dtype):
        values = output.to_numpy(dtype="float64")
    else:
        return None
    ok = values[~np.isnan(values)]
    if len(ok) == 0 or ok.min() < 0 or ok.max() > 1 or np.all(ok == np.round(ok)):
        return None
    return values


def _scores(frame: pd.DataFrame) -> np.ndarray | None:
    """The positive-class probabilities of logged rows: from the logged class probabilities
    (``proba``, a classifier's) when there are any, else from the output when it is one."""
    from shipyard.serving import PROBA

    if PROBA in frame.columns and frame[PROBA].notna().any():
        return scores_of(frame[PROBA])
    return scores_of(frame["output"])


def _from_proba(frame: pd.DataFrame) -> bool:
    from shipyard.serving import PROBA

    return PROBA in frame.columns and bool(frame[PROBA].notna().any())


def infer_task(labels: pd.Series, output: pd.Series) -> str:
    """``regression`` for non-integer numeric labels with non-probability outputs, else
    ``classification``."""
    if pd.api.types.is_float_dtype(labels.dtype) and scores_of(output) is None:
        values = labels.dropna().to_numpy(dtype="float64")
        if len(values) and not np.all(values == np.round(values)):
            return "regression"
    return "classification"


def _positive(values: np.ndarray) -> Any:
    uniq = sorted(set(values.tolist()), key=str)
    return 1 if 1 in uniq else (True if True in uniq else uniq[-1])


def classification_metrics(
    labels: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None
) -> dict[str, float]:
    """Accuracy, precision/recall/F1 (binary, or macro), AUC and calibration error."""
    from sklearn import metrics as m

    classes = set(labels.tolist()) | set(predicted.tolist())
    binary = len(classes) <= 2
    out = {"accuracy": float(m.accuracy_score(labels, predicted))}
    kwargs: dict[str, Any] = (
        {"average": "binary", "pos_label": _positive(np.asarray(list(classes), dtype=object))}
        if binary
        else {"average": "macro"}
    )
    out["precision"] = float(m.precision_score(labels, predicted, zero_division=0, **kwargs))
    out["recall"] = float(m.recall_score(labels, predicted, zero_division=0, **kwargs))
    out["f1"] = float(m.f1_score(labels, predicted, zero_division=0, **kwargs))
    if scores is not None and binary:
        truth = (labels == kwargs["pos_label"]).astype(int)
        if 0 < truth.sum() < len(truth):
            out["auc"] = float(m.roc_auc_score(truth, scores))
        out["calibration_error"] = calibration_error(truth, scores)
    return out


def calibration_error(truth: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the row-weighted gap between mean score and positive
    rate over equal-width score bins."""
    which = np.minimum((scores * bins).astype(int), bins - 1)
    gap = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            gap += mask.sum() * abs(scores[mask].mean() - truth[mask].mean())
    return float(gap / len(scores))


def regression_metrics(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAE, RMSE and MAPE (over rows whose label is not zero)."""
    error = predicted - labels
    nonzero = labels != 0
    out = {"mae": float(np.abs(error).mean()), "rmse": float(np.sqrt((error**2).mean()))}
    if nonzero.any():
        out["mape"] = float(np.abs(error[nonzero] / labels[nonzero]).mean())
    return out


def estimated_metrics(scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """CBPE: expected accuracy, precision, recall, F1 and ROC AUC from calibrated scores."""
    p = scores[~np.isnan(scores)]
    if len(p) == 0:
        return {}
    pred = p >= threshold
    tp, fp = p[pred].sum(), (1 - p[pred]).sum()
    fn, tn = p[~pred].sum(), (1 - p[~pred]).sum()
    out = {"estimated_accuracy": float((tp + tn) / len(p))}
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    out["estimated_precision"] = float(precision)
    out["estimated_recall"] = float(recall)
    out["estimated_f1"] = float(
        2 * precision * recall / (precision + recall) if precision + recall else 0.0
    )
    # P(score of a positive > score of a negative), each row positive with probability p
    order = np.argsort(p, kind="mergesort")
    ps = p[order]
    neg_below = np.concatenate([[0.0], np.cumsum(1 - ps)[:-1]])
    pairs = ps.sum() * (1 - ps).sum() - (ps * (1 - ps)).sum()
    if pairs > 0:
        out["estimated_auc"] = float((ps * neg_below).sum() / pairs)
    return out


def logged_window(
    model: str,
    start: int | None,
    end: int | None,
    settings: Settings | None,
    log_uri: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What :func:`compute` reads: ``model``'s logged predictions made in ``[start, end)``
    (epoch ms, None: unbounded), only the columns it needs, and every label so far."""
    from shipyard.serving import PROBA, read_labels, read_predictions

    predictions = read_predictions(
        model,
        start=start,
        end=end,
        columns=["prediction_id", "row", "ts", "version", "output", PROBA],
        settings=settings,
        log_uri=log_uri,
    )
    labels = read_labels(
        columns=["prediction_id", "row", "label"], settings=settings, log_uri=log_uri
    )
    return predictions, labels


def compute(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    window: str | int = "1h",
    task: str = "auto",
    threshold: float = 0.5,
) -> PerformanceReport:
    """Join, bucket by window and version, and compute the metrics (see module docstring)."""
    size = window_ms(window)
    if task not in ("auto", "classification", "regression"):
        raise InvalidArgument(
            f"task must be auto, classification or regression, got {task!r}", field="task"
        )
    if predictions.empty:
        return PerformanceReport("classification" if task == "auto" else task, size, [], 0)
    keys = ["prediction_id", "row"]
    if labels.empty:
        labels = pd.DataFrame({"prediction_id": [], "row": [], "label": []})
    labels = labels.drop_duplicates(keys, keep="last")[[*keys, "label"]]
    joined = predictions.merge(labels, on=keys, how="left", indicator=True)
    matched = labels.merge(predictions[keys].drop_duplicates(), on=keys, how="inner")
    unmatched = len(labels) - len(matched)
    labelled = joined["_merge"] == "both"
    if task == "auto":
        task = infer_task(joined.loc[labelled, "label"], joined["output"])
    joined["window_start"] = joined["ts"] // size * size
    rows = []
    for key, group in joined.groupby(["window_start", "version"], sort=True):
        start, version = (int(x) for x in key)  # type: ignore[call-overload]
        done = group[group["_merge"] == "both"]
        scores = _scores(group) if task == "classification" else None
        metrics: dict[str, float] = {}
        if len(done):
            metrics.update(_metrics(task, done, threshold))
        if scores is not None:
            metrics.update(estimated_metrics(scores, threshold))
        rows.append(PerformanceRow(start, version, len(group), len(done), metrics))
    return PerformanceReport(task, size, rows, unmatched)


def _metrics(task: str, done: pd.DataFrame, threshold: float) -> dict[str, float]:
    if task == "regression":
        return regression_metrics(
            done["label"].to_numpy(dtype="float64"), done["output"].to_numpy(dtype="float64")
        )
    scores = _scores(done)
    labels = done["label"].to_numpy()
    if scores is not None and not _from_proba(done):  # the output is a score: threshold it
        positive = _positive(labels)
        negative = next((x for x in set(labels.tolist()) if x != positive), 0)
        predicted = np.where(scores >= threshold, positive, negative)
        if labels.dtype == bool:
            predicted = predicted.astype(bool)
    else:
        predicted = done["output"].to_numpy()
    return classification_metrics(labels, predicted, scores)
