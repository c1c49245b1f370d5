"""The registry SDK as a user drives it: register, load by reference, aliases and promotion,
integrity and trust, on SQLite and PostgreSQL (and S3 where blobs matter)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import shipyard
from shipyard.config import load_settings
from shipyard.entities import LineageNode
from shipyard.errors import (
    Conflict,
    IntegrityError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    SchemaError,
)
from shipyard.tracking import Client, _fluent
from shipyard.tracking._run import active_stack

IRIS = load_iris(as_frame=True)
X: pd.DataFrame = IRIS.data
y = IRIS.target


class Doubler(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """A custom transformer: importable, but not on the default allow-list."""

    def fit(self, X: Any, y: Any = None) -> Doubler:
        return self

    def transform(self, X: Any) -> Any:
        return X * 2


@pytest.fixture(scope="module")
def model() -> LogisticRegression:
    return LogisticRegression(max_iter=500).fit(X, y)


def test_register_an_object_and_load_it_back_by_every_reference(
    sdk: Client, model: LogisticRegression
) -> None:
    mv = shipyard.register_model(model, "iris", input_example=X.head(), description="first")
    assert (mv.name, mv.version, mv.flavor, mv.run_id) == ("iris", 1, "sklearn", None)
    assert {f.path for f in mv.files} == {"model.state", "shipyard-model.json"}
    assert any(r.startswith("scikit-learn==") for r in mv.requirements)
    assert mv.python_version.count(".") == 2
    assert [c["name"] for c in mv.signature["inputs"]["columns"]] == list(X.columns)  # type: ignore[index]
    expected = model.predict(X)
    for ref in ("iris/1", "iris@latest", "models:/iris/1"):
        loaded = shipyard.models.load(ref)
        np.testing.assert_array_equal(loaded.predict(X), expected)
        assert loaded.metadata.version == 1 and loaded.metadata.flavor == "sklearn"
    loaded = shipyard.models.load("iris/1")
    assert np.allclose(loaded.predict_proba(X), model.predict_proba(X))
    assert isinstance(loaded.model, LogisticRegression)
    assert loaded.signature is not None and len(loaded.signature.inputs.columns or ()) == 4
    pd.testing.assert_frame_equal(loaded.input_example, X.head(), check_dtype=False)
    assert shipyard.models.get_version("iris/1").description == "first"


@pytest.mark.parametrize("old", ["shipyard.load_model", "shipyard.registry.load_model"])
def test_a_former_loader_name_warns_and_loads_the_same_model(
    sdk: Client, model: LogisticRegression, old: str
) -> None:
    shipyard.register_model(model, "iris", input_example=X.head())
    module, _, name = old.rpartition(".")
    alias = getattr(importlib.import_module(module), name)
    with pytest.warns(DeprecationWarning) as caught:
        loaded = alias("iris@latest", enforce_signature=False)
    assert (
        str(caught[0].message) == f"{old} is deprecated; use shipyard.models.load (same arguments)"
    )
    assert caught[0].filename == __file__  # the warning points at the caller's line
    canonical = shipyard.models.load("iris@latest", enforce_signature=False)
    assert loaded.metadata == canonical.metadata
    np.testing.assert_array_equal(loaded.predict(X), canonical.predict(X))


def test_models_list_warns_and_returns_what_list_models_returns(
    sdk: Client, model: LogisticRegression
) -> None:
    shipyard.register_model(model, "iris")
    shipyard.register_model(model, "wine")
    with pytest.warns(DeprecationWarning, match=r"use shipyard\.models\.list_models"):
        listed = shipyard.models.list("ir")
    assert listed == shipyard.models.list_models("ir")
    assert [m.name for m in listed] == ["iris"]


def test_registering_inside_a_run_logs_the_model_and_links_the_run(
    sdk: Client, model: LogisticRegression
) -> None:
    with shipyard.start_run(experiment="iris") as run:
        shipyard.log_metrics({"auc": 0.97, "f1": 0.9})
        shipyard.log_params({"C": 1.0})
        mv = shipyard.register_model(model, "iris", metrics={"holdout_auc": 0.95})
    assert mv.run_id == run.id and mv.source == f"runs:/{run.id}/model"
    assert mv.metrics == {"auc": 0.97, "f1": 0.9, "holdout_auc": 0.95}
    paths = {a.path for a in sdk.store.list_artifacts(run.id)}
    assert paths == {"model/model.state", "model/shipyard-model.json"}
    lineage = sdk.store.get_lineage(LineageNode("model_version", mv.id))
    assert [e.src.id for e in lineage] == [run.id]


def test_a_logged_model_registers_without_copying_and_loads_from_the_run(
    sdk: Client, model: LogisticRegression
) -> None:
    with shipyard.start_run(experiment="iris") as run:
        shipyard.log_metric("auc", 0.93)
        info = shipyard.log_model(model, input_example=X.head(3))
    assert info.uri == f"runs:/{run.id}/model" and info.version is None
    direct = shipyard.models.load(info.uri)
    np.testing.assert_array_equal(direct.predict(X), model.predict(X))
    mv = shipyard.register_model(info.uri, "iris")
    again = shipyard.register_model(info.uri, "iris")
    assert (mv.version, again.version) == (1, 2)
    assert mv.files == info.files and mv.manifest_digest == again.manifest_digest
    assert mv.metrics == {"auc": 0.93} and mv.run_id == run.id
    copy = shipyard.register_model("models:/iris/1", "iris-copy")
    assert copy.manifest_digest == mv.manifest_digest and copy.run_id == run.id


def test_a_run_without_a_model_cannot_be_registered_and_nothing_changes(sdk: Client) -> None:
    with shipyard.start_run(experiment="iris") as run:
        shipyard.log_artifact({"a": 1}, name="config")
    with pytest.raises(InvalidArgument, match=rf"run {run.id} has no model at 'model'"):
        shipyard.register_model(f"runs:/{run.id}/model", "iris")
    with pytest.raises(NotFound):
        shipyard.models.get("iris")
    with pytest.raises(NotFound, match="no run"):
        shipyard.register_model("runs:/" + "0" * 32 + "/model", "iris")
    with pytest.raises(InvalidArgument, match="model name"):
        shipyard.register_model(LogisticRegression(), "bad name!")
    with pytest.raises(InvalidArgument, match=r"cannot register a builtins\.dict"):
        shipyard.register_model({"not": "a model"}, "iris")
    assert shipyard.models.list_models() == []


def test_bad_references_are_clear_errors(sdk: Client, model: LogisticRegression) -> None:
    shipyard.register_model(model, "iris")
    with pytest.raises(InvalidArgument, match="say which version of 'iris'"):
        shipyard.models.load("iris")
    with pytest.raises(NotFound, match="no alias 'prod'"):
        shipyard.models.load("iris@prod")
    with pytest.raises(NotFound, match="no version 9"):
        shipyard.models.load("iris/9")
    with pytest.raises(InvalidArgument, match="not a model reference"):
        shipyard.models.load("iris/0")
    with pytest.raises(InvalidArgument, match="alias"):
        shipyard.models.load("iris@Not Valid")
    with pytest.raises(NotFound, match="no registered model named 'nope'"):
        shipyard.models.load("nope@latest")


def test_promotion_gates_aliases_and_their_history(sdk: Client, model: LogisticRegression) -> None:
    for auc in (0.90, 0.85, 0.95):
        shipyard.register_model(model, "iris", metrics={"auc": auc})
    gates = ["metrics.auc >= champion.metrics.auc", "metrics.auc > 0.8"]
    event = shipyard.promote("iris", 1, to="champion", require=gates, reason="first")
    assert event.outcome == "moved" and event.passed
    with pytest.raises(Conflict, match=r"iris/2 failed 1 of 2 promotion gate\(s\)") as caught:
        shipyard.promote("iris", 2, to="champion", require=gates)
    assert caught.value.details["event"]["outcome"] == "rejected"
    assert shipyard.models.get_version("iris@champion").version == 1  # did not move
    forced = shipyard.promote("iris", 2, to="champion", require=gates, force=True, reason="hotfix")
    assert forced.forced and shipyard.models.get_version("iris@champion").version == 2
    shipyard.set_alias("iris", "challenger", 3)
    shipyard.promote("iris", "challenger", to="champion", require=gates)  # alias -> its version
    assert shipyard.models.load("iris@champion").metadata.version == 3
    history = shipyard.models.history("iris")
    assert [(e.alias, e.from_version, e.to_version, e.outcome, e.forced) for e in history] == [
        ("champion", 2, 3, "moved", False),
        ("challenger", None, 3, "moved", False),
        ("champion", 1, 2, "moved", True),
        ("champion", 1, 2, "rejected", False),
        ("champion", None, 1, "moved", False),
    ]
    assert all(e.actor for e in history)
    shipyard.models.delete_alias("iris", "challenger", reason="done")
    assert shipyard.models.get("iris").aliases == {"champion": 3}


def test_requirements_and_diff(sdk: Client, model: LogisticRegression) -> None:
    import sklearn

    with shipyard.start_run(experiment="iris"):
        shipyard.log_params({"C": 1.0})
        shipyard.log_metric("auc", 0.9)
        shipyard.register_model(model, "iris", input_example=X.head())
    with shipyard.start_run(experiment="iris"):
        shipyard.log_params({"C": 0.5})
        shipyard.log_metric("auc", 0.92)
        shipyard.register_model(model, "iris", extra_requirements=["pyarrow>=16"])
    assert f"scikit-learn=={sklearn.__version__}" in shipyard.models.requirements("iris/1")
    assert shipyard.models.requirements("iris/2")[-1] == "pyarrow>=16"
    _, _, rows = shipyard.models.diff("iris/1", "iris/2")
    changed = {(r.section, r.key): (r.a, r.b) for r in rows if r.differs}
    assert changed[("params", "C")] == ("1.0", "0.5")
    assert changed[("metrics", "auc")] == (0.9, 0.92)
    assert changed[("requirements", "pyarrow")] == (None, ">=16")
    assert changed[("signature", "sepal length (cm)")] == ("double", None)


# ---------------------------------------------------------------------------- signatures


def test_predict_enforces_the_signature(sdk: Client, model: LogisticRegression) -> None:
    shipyard.register_model(model, "iris", signature=shipyard.infer_signature(X, model.predict(X)))
    loaded = shipyard.models.load("iris/1")
    with pytest.raises(SchemaError, match="missing column 'petal width \\(cm\\)'") as caught:
        loaded.predict(X.drop(columns=["petal width (cm)"]))
    assert caught.value.field == "petal width (cm)"
    as_ints = X.round().astype("int64")
    np.testing.assert_array_equal(loaded.predict(as_ints), model.predict(as_ints.astype(float)))
    with pytest.warns(UserWarning, match="dropping 1 column"):
        loaded.predict(X.assign(extra=1))
    with pytest.raises(SchemaError, match="column 'sepal width \\(cm\\)' has type"):
        loaded.predict(X.assign(**{"sepal width (cm)": "wide"}))
    shuffled = X[list(reversed(X.columns))]
    np.testing.assert_array_equal(loaded.predict(shuffled), model.predict(X))
    records = X.head(2).to_dict(orient="records")
    np.testing.assert_array_equal(loaded.predict(records), model.predict(X.head(2)))


# ---------------------------------------------------------------------------- integrity


@pytest.fixture
def blob_sdk(tmp_path: Path, artifacts_uri: str) -> Iterator[Client]:
    """The SDK on SQLite with blobs in a local folder, and on an S3 server."""
    client = _fluent.configure(
        load_settings(home=tmp_path / ".shipyard", artifacts_uri=artifacts_uri, sync_logging=True)
    )
    yield client
    for run in reversed(list(active_stack())):
        run.end("KILLED")
    client.close()
    _fluent._default = None


def _tamper(client: Client, digest: str) -> None:
    blobs = client.store.blobs  # type: ignore[attr-defined]
    blobs.fs.pipe_file(blobs._path(digest), b"not the model you registered")


def test_a_tampered_blob_fails_the_hash_check(blob_sdk: Client, model: LogisticRegression) -> None:
    mv = shipyard.register_model(model, "iris")
    state = next(f for f in mv.files if f.path == "model.state")
    _tamper(blob_sdk, state.digest)
    tampered = r"iris/1: file 'model\.state' failed its sha256 check"
    with pytest.raises(IntegrityError, match=tampered):
        shipyard.models.load("iris/1")
    cache = blob_sdk.settings.home / "cache" / "models"
    assert not (cache / mv.manifest_digest).exists()  # nothing half-fetched is left behind


def test_a_changed_cache_file_is_fetched_again(blob_sdk: Client, model: LogisticRegression) -> None:
    mv = shipyard.register_model(model, "iris")
    shipyard.models.load("iris/1")
    cached = blob_sdk.settings.home / "cache" / "models" / mv.manifest_digest / "model.state"
    cached.write_bytes(b"garbage")
    loaded = shipyard.models.load("iris/1")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert cached.read_bytes() != b"garbage"


# ---------------------------------------------------------------------------- trust


def test_types_outside_the_allow_list_need_to_be_trusted(sdk: Client) -> None:
    pipeline = make_pipeline(Doubler(), LogisticRegression(max_iter=500)).fit(X, y)
    mv = shipyard.register_model(pipeline, "custom")
    assert mv.metadata["untrusted_types"] == [f"{__name__}.Doubler"]
    with pytest.raises(PermissionDenied, match=f"custom/1: .*{__name__}.Doubler") as caught:
        shipyard.models.load("custom/1")
    assert caught.value.details["untrusted"] == [f"{__name__}.Doubler"]
    loaded = shipyard.models.load("custom/1", trusted=[f"{__name__}.Doubler"])
    np.testing.assert_array_equal(loaded.predict(X), pipeline.predict(X))


def test_pickle_only_with_the_trust_flag_on_both_sides(sdk: Client) -> None:
    odd = make_pipeline(FunctionTransformer(lambda a: a + 1), LogisticRegression(max_iter=500))
    odd.fit(X, y)
    with pytest.raises(InvalidArgument, match="trusted=True"):
        shipyard.register_model(odd, "odd")
    with pytest.raises(NotFound):
        shipyard.models.get("odd")  # nothing registered
    mv = shipyard.register_model(odd, "odd", trusted=True)
    assert mv.metadata["format"] == "pickle"
    with pytest.raises(PermissionDenied, match="odd/1 is stored as a pickle"):
        shipyard.models.load("odd/1")
    loaded = shipyard.models.load("odd/1", trusted=True)
    np.testing.assert_array_equal(loaded.predict(X), odd.predict(X))
