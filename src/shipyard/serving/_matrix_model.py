"""Calling a scikit-learn estimator with the checked frame's float64 matrix.

scikit-learn validates a DataFrame column by column on every call (dtypes, sparse accessors,
feature names): about 1.2 ms per call for 30 columns, against 0.03 ms for the same values as
one float64 array, and a classifier is called twice per request (``predict`` and
``predict_proba``). What it checks on a frame is that the columns are the ones it was fitted
on, in that order. The model server's checked frame always holds exactly the signature's
columns in the signature's order, so when those are the estimator's ``feature_names_in_``
the check can be made once, when the version loads: the server then calls a shallow copy of
the estimator without ``feature_names_in_`` with the frame's matrix (no copy of the data),
and scikit-learn's other checks (feature count, finite values, dtype) still run.

Only a plain estimator qualifies (its ``feature_names_in_`` set by its own ``fit``, not a
pipeline's property), and only after it gave exactly the same answers on the version's input
example both ways with no warning; anything else keeps the frame.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import pandas as pd


class MatrixModel:
    """A scikit-learn estimator called with the checked frame's float64 matrix."""

    def __init__(self, estimator: Any, columns: list[str]) -> None:
        self.columns = columns
        self._twin = copy.copy(estimator)
        del self._twin.feature_names_in_  # checked once, by ``matrix_model``
        self._proba = getattr(self._twin, "predict_proba", None)

    def matrix(self, data: Any) -> np.ndarray[Any, Any] | None:
        """The float64 [rows, columns] matrix of a checked frame, or None when ``data`` is
        something else (then the model is called with ``data`` as it is)."""
        if not isinstance(data, pd.DataFrame) or list(data.columns) != self.columns:
            return None
        array = data.to_numpy()
        return array if array.dtype == np.float64 else None

    def predict(self, array: np.ndarray[Any, Any]) -> Any:
        return self._twin.predict(array)

    def predict_proba(self, array: np.ndarray[Any, Any]) -> Any:
        assert self._proba is not None
        return self._proba(array)


def matrix_model(
    estimator: Any, flavor: str, columns: list[str] | None, example: Any, proba: bool
) -> MatrixModel | None:
    """A :class:`MatrixModel` of ``estimator`` when it is a scikit-learn estimator fitted on
    exactly ``columns`` (in order) that answers ``example`` identically both ways (and
    without a warning); otherwise None.

    Args:
        estimator: The loaded model object.
        flavor: Its registry flavor (only ``sklearn`` qualifies).
        columns: The signature's input columns (None: not a column signature).
        example: The version's checked input example, to compare both ways on.
        proba: Whether ``predict_proba`` is called too (it is compared as well).
    """
    names = vars(estimator).get("feature_names_in_") if hasattr(estimator, "__dict__") else None
    if flavor != "sklearn" or not columns or names is None or list(names) != columns:
        return None
    if not isinstance(example, pd.DataFrame) or not len(example):
        return None
    try:
        fast = MatrixModel(estimator, columns)
        array = fast.matrix(example)
        if array is None:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning either way: keep the frame
            same = identical(estimator.predict(example), fast.predict(array))
            if proba and same:
                same = identical(estimator.predict_proba(example), fast.predict_proba(array))
    except Exception:
        return None
    return fast if same else None


def identical(expected: Any, got: Any) -> bool:
    """Whether two answers are the same array: shape, dtype and values (NaN equal to NaN)."""
    expected, got = np.asarray(expected), np.asarray(got)
    return bool(
        expected.shape == got.shape
        and expected.dtype == got.dtype
        and np.array_equal(expected, got, equal_nan=expected.dtype.kind == "f")
    )
