"""A classifier's labels from its probabilities, where that is exactly what its ``predict``
does: one model call per batch instead of two.

The server computes every classifier's probabilities (the prediction log keeps them for
monitoring), so it calls ``predict_proba`` for each batch besides ``predict``. For the
estimators listed in :func:`_argmax_types`, scikit-learn's ``predict`` is by definition
``classes_.take(argmax(predict_proba(X), axis=1))`` (read in scikit-learn's source: forests
and extra-trees through ``ForestClassifier.predict``, single trees through
``BaseDecisionTree.predict`` over the same leaf values ``predict_proba`` returns, bagging
through ``BaggingClassifier.predict``; a ``Pipeline`` transforms, then calls its final step's
``predict`` or ``predict_proba``), so calling both runs the model twice.

The labels are derived only for those exact types (a subclass may override ``predict``),
with one output and 1-D ``classes_``, and only after the model gave the same labels both
ways, same dtype included, on the version's input example when it loads. Anything else
(gradient boosting, whose ``predict`` thresholds raw scores; linear models; custom classes;
multi-output; no input example) keeps calling ``predict`` and ``predict_proba``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from shipyard.serving._matrix_model import identical

#: Turns a batch's probabilities ([rows, classes]) into its labels.
LabelsOf = Callable[[Any], Any]


@functools.cache
def _argmax_types() -> frozenset[type]:
    """The estimator types whose ``predict`` is the argmax of ``predict_proba`` over
    ``classes_`` (single output), by scikit-learn's source."""
    from sklearn.ensemble import BaggingClassifier, ExtraTreesClassifier, RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier

    return frozenset(
        {
            RandomForestClassifier,
            ExtraTreesClassifier,
            DecisionTreeClassifier,
            ExtraTreeClassifier,
            BaggingClassifier,
        }
    )


def _final_step(estimator: Any) -> Any:
    """The estimator that answers: a Pipeline's final step, else ``estimator`` itself."""
    from sklearn.pipeline import Pipeline

    if type(estimator) is Pipeline and estimator.steps:
        return estimator.steps[-1][1]
    return estimator


def labels_from_proba(
    estimator: Any,
    flavor: str,
    predict: Callable[[Any], Any],
    predict_proba: Callable[[Any], Any],
    example: Any,
) -> LabelsOf | None:
    """``proba -> labels`` for ``estimator`` when its ``predict`` is by definition the argmax
    of its ``predict_proba`` and the two gave identical labels on ``example``; else None
    (then the server calls both).

    Args:
        estimator: The loaded model object.
        flavor: Its registry flavor (only ``sklearn`` qualifies).
        predict: How the server calls the model's ``predict``.
        predict_proba: How the server calls its ``predict_proba``.
        example: The version's checked input example (None: no check possible, no labels).
    """
    if flavor != "sklearn" or example is None:
        return None
    final = _final_step(estimator)
    if type(final) not in _argmax_types() or getattr(final, "n_outputs_", 1) != 1:
        return None
    classes = getattr(final, "classes_", None)
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 2:
        return None

    def labels_of(proba: Any) -> Any:
        return classes.take(np.argmax(np.asarray(proba), axis=1), axis=0)

    try:
        proba = np.asarray(predict_proba(example))
        if proba.ndim != 2 or proba.shape[1] != len(classes):
            return None
        same = identical(predict(example), labels_of(proba))
    except Exception:
        return None
    return labels_of if same else None
