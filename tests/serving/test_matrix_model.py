"""A scikit-learn estimator fitted on a frame is called with the checked frame's matrix only
when that cannot change an answer (same columns in the same order, the same outputs on the
input example, no warning), and the Prometheus histogram of predicted values counts a whole
batch exactly as one ``observe`` per value would."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st
from prometheus_client import CollectorRegistry, Histogram
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shipyard.serving._matrix_model import matrix_model
from shipyard.serving._metrics import observe_all
from tests.support.contract import examples

COLUMNS = ["a", "b", "c"]


def _data() -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=COLUMNS)
    return X, (X["a"] + X["b"] > 0).to_numpy()


def test_an_estimator_fitted_on_these_columns_answers_the_matrix_as_it_answers_the_frame() -> None:
    X, y = _data()
    model = LogisticRegression().fit(X, y)
    fast = matrix_model(model, "sklearn", COLUMNS, X.head(), proba=True)
    assert fast is not None
    array = fast.matrix(X)
    assert array is not None and np.shares_memory(array, X.to_numpy())
    assert np.array_equal(fast.predict(array), model.predict(X))
    assert np.array_equal(fast.predict_proba(array), model.predict_proba(X))
    assert list(model.feature_names_in_) == COLUMNS  # the served estimator itself is unchanged
    assert fast.matrix(X[["b", "a", "c"]]) is None  # another order: called with the frame
    assert fast.matrix(X.astype("float32")) is None


def test_models_that_need_their_frame_keep_it() -> None:
    X, y = _data()
    by_name = ColumnTransformer([("scaled", StandardScaler(), ["a", "b"])])
    pipeline = make_pipeline(by_name, LogisticRegression()).fit(X, y)
    assert matrix_model(pipeline, "sklearn", COLUMNS, X.head(), proba=True) is None
    on_array = LogisticRegression().fit(X.to_numpy(), y)
    assert matrix_model(on_array, "sklearn", COLUMNS, X.head(), proba=True) is None
    model = LogisticRegression().fit(X, y)
    assert matrix_model(model, "sklearn", ["b", "a", "c"], X.head(), proba=True) is None
    assert matrix_model(model, "xgboost", COLUMNS, X.head(), proba=True) is None
    assert matrix_model(model, "sklearn", COLUMNS, None, proba=True) is None


def _samples(histogram: Histogram) -> dict[tuple[str, str], float]:
    found = {}
    for metric in histogram.collect():
        for sample in metric.samples:
            if not sample.name.endswith("_created"):
                found[(sample.name, sample.labels.get("le", ""))] = sample.value
    return found


@settings(max_examples=examples(100), deadline=None, derandomize=True, database=None)
@given(
    st.lists(
        st.floats(allow_nan=False, allow_infinity=True) | st.sampled_from([0.0, 0.5, 1.0, 10.0]),
        max_size=50,
    )
)
def test_a_batch_of_predicted_values_is_counted_as_one_observe_each(values: list[float]) -> None:
    one, batch = (Histogram("v", "values", registry=CollectorRegistry()) for _ in range(2))
    for value in values:
        one.observe(value)
    observe_all(batch, np.asarray(values))
    expected, got = _samples(one), _samples(batch)
    assert expected.keys() == got.keys()
    for key, value in expected.items():  # counts exactly; the sum up to rounding order
        same = got[key] == value or (np.isnan(value) and np.isnan(got[key]))
        assert same or (key[0] == "v_sum" and math.isclose(got[key], value, rel_tol=1e-9)), key
