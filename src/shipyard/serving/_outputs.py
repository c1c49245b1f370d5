"""What a classifier answers: its labels, and each row's class probabilities with the class
labels they belong to.

The server computes probabilities for every model that has ``predict_proba`` (unless its
``proba`` option is ``"off"``), so the prediction log always holds them for monitoring (AUC,
calibration, performance estimated before labels arrive); a response carries them when the
request asks (``/predict?proba=true``, V2 ``parameters.proba``, or an output named
``proba``) or the server's ``proba`` option is ``"always"``.

:class:`ClassifierOutput` slices like the arrays it holds, so the batcher splits a batch's
answer into requests without knowing what it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from shipyard.errors import InvalidArgument

#: The V2 output tensors of a classifier: the labels, and the [rows, classes] probabilities
#: (their ``parameters.classes`` names the class of each column).
LABEL_OUTPUT, PROBA_OUTPUT = "predict", "proba"


@dataclass(frozen=True)
class ClassifierOutput:
    """Labels (one per row) and probabilities ([rows, classes], columns in ``classes``
    order)."""

    labels: Any
    proba: np.ndarray[Any, Any]
    classes: list[Any]

    def __len__(self) -> int:
        return len(self.proba)

    def __getitem__(self, rows: slice) -> ClassifierOutput:
        return ClassifierOutput(self.labels[rows], self.proba[rows], self.classes)


def classes_of(model: Any, width: int) -> list[Any]:
    """The class labels of a model's probability columns: its ``classes_`` (scikit-learn,
    XGBoost, LightGBM and pipelines of them) as plain values, else the column indices."""
    found = getattr(model, "classes_", None)
    if found is None or len(found) != width:
        return list(range(width))
    return [v.item() if isinstance(v, np.generic) else v for v in list(found)]


def with_proba(labels: Any, proba: Any, model: Any) -> ClassifierOutput:
    """A batch's labels and ``predict_proba`` answer as one output (a 1-D answer, a binary
    model's positive-class probability, becomes the two columns [1 - p, p])."""
    values = np.asarray(proba, dtype="float64")
    if values.ndim == 1:
        values = np.column_stack([1 - values, values])
    labels = labels.to_numpy() if hasattr(labels, "to_numpy") else np.asarray(labels)
    return ClassifierOutput(labels, values, classes_of(model, values.shape[1]))


def wants_proba(asked: Any, setting: str, field: str) -> bool:
    """Whether a response carries probabilities: ``asked`` (the request's flag: a bool, or
    the query string's text) or the server's ``proba`` setting ``"always"``."""
    if isinstance(asked, str):
        lowered = asked.strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no", ""):
            raise InvalidArgument(f"{field} must be true or false, got {asked!r}", field=field)
        asked = lowered in ("true", "1", "yes")
    elif asked is not None and not isinstance(asked, bool):
        raise InvalidArgument(f"{field} must be true or false, got {asked!r}", field=field)
    return bool(asked) or setting == "always"


def split(outputs: Any, want: bool, model: str, field: str) -> tuple[Any, ClassifierOutput | None]:
    """(the labels, the probabilities when wanted): InvalidArgument naming ``field`` when
    they are wanted and the model has none."""
    if isinstance(outputs, ClassifierOutput):
        return outputs.labels, outputs if want else None
    if want:
        raise InvalidArgument(
            f"{model} has no class probabilities (no predict_proba, or the server's proba "
            "option is off)",
            field=field,
        )
    return outputs, None
