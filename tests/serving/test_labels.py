"""A classifier whose ``predict`` is by definition the argmax of its ``predict_proba`` (forests,
extra-trees, trees, bagging, a pipeline ending in one) is called once per batch, its labels
taken from its probabilities; every other model keeps both calls. Either way the served
labels are exactly what the model's own ``predict`` answers, and the probabilities are
logged."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    BaggingClassifier,
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier

import shipyard
from shipyard.serving import PROBA, read_predictions
from shipyard.serving._labels import labels_from_proba
from shipyard.serving._matrix_model import identical


class Cautious(RandomForestClassifier):
    """A forest that answers the positive class only above 0.8: its ``predict`` is not the
    argmax of its ``predict_proba``."""

    def predict(self, X: Any) -> Any:
        return self.classes_.take((self.predict_proba(X)[:, 1] > 0.8).astype(int))


def _data(classes: int = 2) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    score = X["a"] + X["b"] + rng.normal(scale=0.8, size=300)
    if classes == 2:
        return X, np.where(score > 0, "yes", "no")
    return X, np.digitize(score, [-0.7, 0.7]) * 10


def _labels_of(model: Any, X: pd.DataFrame) -> Any:
    return labels_from_proba(model, "sklearn", model.predict, model.predict_proba, X.head())


@pytest.mark.parametrize(
    "estimator",
    [
        RandomForestClassifier(n_estimators=10, random_state=0),
        ExtraTreesClassifier(n_estimators=10, random_state=0),
        DecisionTreeClassifier(random_state=0),
        ExtraTreeClassifier(random_state=0),
        BaggingClassifier(n_estimators=5, random_state=0),
        make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=10, random_state=0)),
    ],
    ids=lambda e: type(e).__name__,
)
@pytest.mark.parametrize("classes", [2, 3])
def test_argmax_classifiers_give_their_own_labels_from_one_call(
    estimator: Any, classes: int
) -> None:
    X, y = _data(classes)
    model = estimator.fit(X, y)
    labels_of = _labels_of(model, X)
    assert labels_of is not None
    assert identical(model.predict(X), labels_of(model.predict_proba(X)))  # dtype included


def test_other_classifiers_keep_both_calls() -> None:
    X, y = _data()
    for model in (
        LogisticRegression().fit(X, y),  # predict: the argmax of the decision function
        HistGradientBoostingClassifier(max_iter=5).fit(X, y),  # thresholds raw scores
        Cautious(n_estimators=10, random_state=0).fit(X, y),  # a subclass overriding predict
    ):
        assert _labels_of(model, X) is None, type(model).__name__


def test_a_listed_model_whose_labels_differ_on_the_example_keeps_both_calls() -> None:
    X, y = _data()
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)

    def flipped(data: Any) -> Any:  # "yes" where the model says "no", and back
        return model.classes_.take(1 - model.classes_.searchsorted(model.predict(data)))

    assert labels_from_proba(model, "sklearn", flipped, model.predict_proba, X.head()) is None


def test_multi_output_odd_classes_and_no_example_fall_back() -> None:
    X, y = _data()
    both = np.column_stack([y, y[::-1]])
    multi = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, both)
    assert labels_from_proba(multi, "sklearn", multi.predict, multi.predict_proba, X.head()) is None
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    assert labels_from_proba(model, "sklearn", model.predict, model.predict_proba, None) is None
    assert labels_from_proba(model, "onnx", model.predict, model.predict_proba, X.head()) is None
    model.classes_ = list(model.classes_)  # not an array: nothing to take labels from
    assert _labels_of(model, X) is None
    one_class = DecisionTreeClassifier().fit(X, np.full(len(X), "yes"))
    assert _labels_of(one_class, X) is None
    broken = lambda data: np.ones((len(data), 3))  # noqa: E731  (a column per class expected)
    fresh = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    assert labels_from_proba(fresh, "sklearn", fresh.predict, broken, X.head()) is None


@pytest.mark.parametrize("kind", ["forest", "cautious"])
def test_served_labels_are_the_models_own_and_probabilities_are_logged(
    sqlite_sdk: Any, cancer: Any, start: Any, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = cancer()
    cls = RandomForestClassifier if kind == "forest" else Cautious
    model = cls(n_estimators=20, max_depth=4, random_state=0).fit(X, y)
    expected = model.predict(X)
    if kind == "cautious":  # the test means something only where the argmax disagrees
        assert (expected != model.classes_.take(model.predict_proba(X).argmax(axis=1))).any()
    version = shipyard.register_model(model, "forest", input_example=X.head())
    shipyard.set_alias("forest", "champion", version.version)
    calls: list[int] = []  # rows per call of the model's predict, once the server is ready
    own = cls.predict

    def counted(self: Any, data: Any) -> Any:
        calls.append(len(data))
        return own(self, data)

    monkeypatch.setattr(cls, "predict", counted)
    with (
        start("forest@champion", trusted=True) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        calls.clear()
        answers = [
            http.post("/predict", json=X.iloc[first : first + 100].to_dict(orient="records"))
            for first in range(0, len(X), 100)
        ]
    assert all(a.status_code == 200 for a in answers), answers[0].text
    served = [label for a in answers for label in a.json()["predictions"]]
    assert served == expected.tolist()
    assert sum(calls) == (0 if kind == "forest" else len(X))  # the forest: predict_proba only
    order = {a.json()["prediction_id"]: i for i, a in enumerate(answers)}
    logged = read_predictions("forest")
    logged = logged.assign(at=logged["prediction_id"].map(order)).sort_values(["at", "row"])
    np.testing.assert_allclose(np.stack(logged[PROBA].to_list()), model.predict_proba(X))
