"""scikit-learn autologging: what a user gets from ``shipyard.autolog()`` and a plain ``fit``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import shipyard
from shipyard.entities import Run
from shipyard.errors import InvalidArgument
from shipyard.tracking import Client

X, y = load_iris(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
ORIGINAL_FITS = {cls: cls.__dict__.get("fit") for cls in (LogisticRegression, ExtraTreesClassifier)}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Autologging sits above the Store, so one backend is enough here."""
    return f"sqlite:///{tmp_path / 'meta.db'}"


@pytest.fixture
def autolog(sdk: Client) -> Iterator[Client]:
    """The SDK on a fresh store; autologging is switched off afterwards whatever happened, so
    the patched ``fit`` never leaks into other tests of this worker."""
    yield sdk
    shipyard.autolog(disable=True)
    assert {cls: cls.__dict__.get("fit") for cls in ORIGINAL_FITS} == ORIGINAL_FITS


def all_runs() -> list[Run]:
    return shipyard.search_runs(output="runs").runs


def load_logged(run: Run) -> Any:
    return shipyard.models.load(f"runs:/{run.id}/model").model


def test_fit_without_active_run_records_a_finished_run(autolog: Client, tmp_path: Path) -> None:
    shipyard.autolog(experiment="iris")
    model = LogisticRegression(C=0.5, max_iter=1000).fit(X, y)

    assert shipyard.active_run() is None
    [run] = all_runs()
    assert run.status == "FINISHED" and run.end_time is not None
    assert run.name == "LogisticRegression"
    assert run.experiment_id == autolog.get_experiment("iris").id
    assert run.params["C"] == "0.5" and run.params["max_iter"] == "1000"
    assert run.params["solver"] == "lbfgs"  # defaults are recorded too
    assert run.metrics["fit_time_s"] > 0
    assert run.metrics["training_score"] == pytest.approx(model.score(X, y))
    assert "validation_score" not in run.metrics
    assert run.tags["shipyard.autolog.estimator"].endswith("LogisticRegression")

    paths = {a.path for a in autolog.store.list_artifacts(run.id)}
    assert paths == {"model/model.state", "model/shipyard-model.json"}
    meta_path = autolog.download_artifact(run.id, "model/shipyard-model.json", tmp_path / "m")
    meta = json.loads(Path(meta_path).read_text())
    assert meta["flavor"] == "sklearn" and meta["format"] == "shipyard-state"
    assert meta["class"].endswith("LogisticRegression")
    # the signature comes from the training data, the requirements are pinned
    assert meta["signature"]["inputs"]["type"] == "tensor"
    assert meta["signature"]["inputs"]["shape"] == [-1, 4]
    assert any(r.startswith("scikit-learn==") for r in meta["requirements"])

    loaded = load_logged(run)
    assert type(loaded) is LogisticRegression
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))


def test_without_an_experiment_runs_go_to_default(autolog: Client) -> None:
    shipyard.autolog()
    DecisionTreeClassifier(max_depth=2).fit(X, y)
    [run] = all_runs()
    assert run.experiment_id == autolog.get_experiment("Default").id


def test_validation_data_logs_a_validation_score(autolog: Client) -> None:
    shipyard.autolog(validation_data=(X_val, y_val))
    model = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    [run] = all_runs()
    assert run.metrics["validation_score"] == pytest.approx(model.score(X_val, y_val))
    assert run.metrics["training_score"] == pytest.approx(model.score(X_train, y_train))


def test_log_models_false_logs_no_artifact(autolog: Client) -> None:
    shipyard.autolog(log_models=False)
    LogisticRegression(max_iter=1000).fit(X, y)
    [run] = all_runs()
    assert run.params["C"] == "1.0"
    assert autolog.store.list_artifacts(run.id) == []


def test_pipeline_logs_one_run_for_the_top_level_fit(autolog: Client, tmp_path: Path) -> None:
    shipyard.autolog()
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=2.0, max_iter=1000)).fit(X, y)

    [run] = all_runs()  # not one for the scaler and one for the classifier as well
    assert run.name == "Pipeline" and run.status == "FINISHED"
    assert run.params["logisticregression__C"] == "2.0"
    assert "standardscaler__with_mean" in run.params
    assert run.metrics["training_score"] == pytest.approx(pipe.score(X, y))
    loaded = load_logged(run)
    assert isinstance(loaded, Pipeline)
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))


def test_step_names_that_cannot_be_param_keys_are_skipped(
    autolog: Client, recwarn: pytest.WarningsRecorder
) -> None:
    shipyard.autolog()
    pipe = Pipeline(
        [("scale(std)", StandardScaler()), ("clf", LogisticRegression(C=3.0, max_iter=1000))]
    )
    pipe.fit(X, y)
    [run] = all_runs()
    assert run.params["clf__C"] == "3.0"  # the rest is still recorded
    assert not any(key.startswith("scale(std)") for key in run.params)
    assert "training_score" in run.metrics
    assert not [w for w in recwarn if "shipyard" in str(w.message)]


def test_grid_search_logs_one_run_for_the_search(autolog: Client) -> None:
    shipyard.autolog()
    search = GridSearchCV(LogisticRegression(max_iter=1000), {"C": [0.1, 1.0]}, cv=2)
    search.fit(X, y)  # 2 candidates x 2 folds + the refit: 5 inner fits

    [run] = all_runs()
    assert run.name == "GridSearchCV" and run.status == "FINISHED"
    assert run.params["param_grid"] == "{'C': [0.1, 1.0]}"
    assert run.params["estimator__max_iter"] == "1000"
    assert run.metrics["training_score"] == pytest.approx(search.score(X, y))


def test_inside_a_user_run_first_fit_logs_there_and_the_next_one_nests(autolog: Client) -> None:
    shipyard.autolog()
    with shipyard.start_run(experiment="mine", name="experiment-1") as parent:
        shipyard.log_param("dataset", "iris")
        LogisticRegression(C=0.5, max_iter=1000).fit(X, y)
        assert shipyard.active_run() is parent
        DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)  # no param conflict
        assert shipyard.active_run() is parent

    runs = {r.name: r for r in all_runs()}
    assert set(runs) == {"experiment-1", "DecisionTreeClassifier"}
    mine, child = runs["experiment-1"], runs["DecisionTreeClassifier"]
    assert mine.status == child.status == "FINISHED"
    assert mine.params["dataset"] == "iris" and mine.params["C"] == "0.5"
    assert "max_depth" not in mine.params
    assert child.parent_run_id == parent.id
    assert child.params["max_depth"] == "2" and "C" not in child.params
    assert "training_score" in child.metrics
    assert {a.path for a in autolog.store.list_artifacts(child.id)} >= {"model/model.state"}


def test_params_clashing_with_the_users_run_go_to_a_nested_run(autolog: Client) -> None:
    shipyard.autolog()
    with shipyard.start_run(experiment="mine") as parent:
        shipyard.log_param("C", 0.1)  # the user's own param of the same name
        LogisticRegression(C=1.0, max_iter=1000).fit(X, y)  # must not raise

    [child] = [r for r in all_runs() if r.id != parent.id]
    assert child.parent_run_id == parent.id and child.params["C"] == "1.0"
    assert shipyard.get_run(parent.id).params["C"] == "0.1"
    assert shipyard.get_run(parent.id).status == "FINISHED"


def test_a_failing_fit_marks_the_run_failed_and_reraises(autolog: Client) -> None:
    shipyard.autolog()
    with pytest.raises(ValueError, match="at least 2 classes"):
        LogisticRegression().fit(X[:10], np.zeros(10))
    [run] = all_runs()
    assert run.status == "FAILED" and run.end_time is not None
    assert shipyard.active_run() is None


def test_recording_problems_warn_but_never_break_the_fit(autolog: Client) -> None:
    shipyard.autolog(validation_data=(X_val[:, :2], y_val))  # wrong number of features
    with pytest.warns(UserWarning, match="could not compute validation_score") as caught:
        model = LogisticRegression(max_iter=1000).fit(X, y)
    assert caught[0].filename == __file__  # points at the user's fit call
    assert model.predict(X).shape == (len(X),)  # the fit went through
    [run] = all_runs()
    assert run.status == "FINISHED"
    assert "validation_score" not in run.metrics and "training_score" in run.metrics
    assert {a.path for a in autolog.store.list_artifacts(run.id)} >= {"model/model.state"}


def test_an_unusable_experiment_warns_and_still_fits(autolog: Client) -> None:
    autolog.store.delete_experiment(autolog.store.create_experiment("gone").id)
    shipyard.autolog(experiment="gone")
    with pytest.warns(UserWarning, match="could not start a run.*deleted") as caught:
        model = LogisticRegression(max_iter=1000).fit(X, y)
    assert caught[0].filename == __file__
    assert hasattr(model, "coef_")
    assert shipyard.active_run() is None


def test_disable_restores_the_original_fit(autolog: Client) -> None:
    shipyard.autolog()
    shipyard.autolog()  # a second call must not wrap twice
    assert LogisticRegression.__dict__["fit"] is not ORIGINAL_FITS[LogisticRegression]
    LogisticRegression(max_iter=1000).fit(X, y)
    assert len(all_runs()) == 1

    shipyard.autolog(disable=True)
    assert LogisticRegression.__dict__["fit"] is ORIGINAL_FITS[LogisticRegression]
    assert "fit" not in ExtraTreesClassifier.__dict__  # inherited fit: nothing left behind
    LogisticRegression(max_iter=1000).fit(X, y)
    ExtraTreesClassifier(n_estimators=5).fit(X, y)
    assert len(all_runs()) == 1  # no new runs


@pytest.mark.parametrize("bad", ["bad", (X,), [X, y], (X, y, None)])
def test_validation_data_must_be_an_x_y_tuple(autolog: Client, bad: Any) -> None:
    with pytest.raises(InvalidArgument, match="validation_data") as info:
        shipyard.autolog(validation_data=bad)
    assert info.value.field == "validation_data"
    # nothing was switched on
    assert LogisticRegression.__dict__["fit"] is ORIGINAL_FITS[LogisticRegression]
