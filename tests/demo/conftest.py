"""Fixtures of the demo tests: a fresh directory with no configured client (as a user runs
`shipyard demo`), and a small registered model with no input example."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import shipyard
from shipyard.tracking import Client, _fluent


def _drop_default_client() -> None:
    if _fluent._default is not None:
        _fluent._default.close()
        _fluent._default = None


@pytest.fixture
def default_client() -> Iterator[None]:
    """No configured client: the CLI builds its default one, as for a user in a fresh
    directory (the autouse fixture made that ``<tmp>/.shipyard``)."""
    _drop_default_client()
    yield
    _drop_default_client()


@pytest.fixture
def model_without_example(sqlite_sdk: Client) -> str:
    """The reference of a registered model logged without an input example."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    with shipyard.start_run(experiment="bare"):
        version = shipyard.register_model(DecisionTreeClassifier(max_depth=2).fit(X, y), "bare")
    return version.ref
