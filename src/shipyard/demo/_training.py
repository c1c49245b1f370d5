"""The demo's training pipeline: ingest -> validate -> split -> train (a small sweep over
three model families, one step and one tracked run per candidate, each model logged in the
registry's safe format with its signature) -> evaluate -> register.

The pipeline reads the versioned dataset of :mod:`shipyard.demo._data`; every step's outputs
are stored and cached. The register step registers the best candidate as ``demo-model`` and
promotes it to ``@champion`` through promotion gates (or, for a retraining policy, only
registers it). The closed loop's retraining policy runs this same pipeline by its reference.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pandera.pandas as pa

from shipyard import data
from shipyard.demo._data import PATIENT, TARGET
from shipyard.demo._names import DATASET, MODEL as DEMO_MODEL
from shipyard.pipelines import pipeline, step
from shipyard.registry import log_model, promote, register_model
from shipyard.tracking import get_client, start_run

#: The gates the best model must pass to become @champion.
DEMO_GATES = ("metrics.val_auc >= champion.metrics.val_auc", "metrics.val_auc > 0.9")


#: What the training data must be before it is split: float features and a binary integer
#: label, nothing missing, both classes present, at least 100 rows.
TRAINING_CONTRACT = pa.DataFrameSchema(
    {
        TARGET: pa.Column("int64", pa.Check.isin([0, 1]), nullable=False),
        f"^(?!{TARGET}$).*$": pa.Column("float64", nullable=False, regex=True),
    },
    checks=[
        pa.Check(lambda frame: frame[TARGET].nunique() == 2, name="both classes present"),
        pa.Check(lambda frame: len(frame) >= 100, name="at least 100 rows"),
    ],
    name="demo-training-data",
)


def candidates() -> Iterator[tuple[str, dict[str, Any]]]:
    """The sweep: model family and hyper-parameters of each candidate."""
    for c in (0.1, 1.0, 10.0):
        yield "logreg", {"C": c}
    for n_estimators, max_depth in ((50, 4), (100, 8), (200, None)):
        yield "random_forest", {"n_estimators": n_estimators, "max_depth": max_depth}
    for learning_rate in (0.05, 0.2):
        yield "gradient_boosting", {"learning_rate": learning_rate}


def _model(family: str, params: dict[str, Any]) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if family == "logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(C=params["C"], max_iter=2000))
    if family == "random_forest":
        return RandomForestClassifier(**params, random_state=0, n_jobs=1)
    return GradientBoostingClassifier(**params, random_state=0)


@step
def ingest(raw: pd.DataFrame) -> pd.DataFrame:
    """The label as an integer column (entity id and time dropped); duplicate rows dropped."""
    raw = raw.drop(columns=[c for c in (PATIENT, "event_timestamp") if c in raw.columns])
    return raw.astype({TARGET: "int64"}).drop_duplicates().reset_index(drop=True)


@step(contracts={"frame": TRAINING_CONTRACT})
def validate(frame: pd.DataFrame) -> dict[str, Any]:
    """Refuse data that breaks :data:`TRAINING_CONTRACT` (missing values, a non-binary
    label, too few rows: the step fails naming the column and check); summarize the rest."""
    return {
        "rows": len(frame),
        "features": frame.shape[1] - 1,
        "positive_rate": float(frame[TARGET].mean()),
    }


@step(outputs=("train", "test"))
def split(frame: pd.DataFrame, report: dict[str, Any], test_size: float, seed: int) -> Any:
    """A stratified train/validation split (only of validated data)."""
    from sklearn.model_selection import train_test_split

    assert report["rows"] == len(frame)
    train, test = train_test_split(
        frame, test_size=test_size, random_state=seed, stratify=frame[TARGET]
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


@step(outputs=("model", "run"))
def train(
    train: pd.DataFrame,
    family: str,
    params: dict[str, Any],
    index: int,
    experiment: str | None = None,
) -> Any:
    """Fit one candidate in a tracked run of ``experiment`` (default: the enclosing run's)
    with its params, fit time and the model with its signature."""
    model = _model(family, params)
    features = train.drop(columns=[TARGET])
    with start_run(experiment=experiment, name=f"{family}-{index}") as run:
        run.log_params({"model": family, **params})
        started = time.perf_counter()
        model.fit(features, train[TARGET])
        run.log_metric("fit_time_s", time.perf_counter() - started)
        log_model(model, "model", input_example=features.head())
    return model, {"run_id": run.id, "name": run.name, "family": family, "params": params}


@step
def evaluate(test: pd.DataFrame, models: list[Any], runs: list[dict[str, Any]]) -> list[Any]:
    """Score every candidate on the validation split; log the scores to its run."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    features, labels = test.drop(columns=[TARGET]), test[TARGET]
    client = get_client()
    board = []
    for model, info in zip(models, runs, strict=True):
        scores = model.predict_proba(features)[:, 1]
        predicted = (scores >= 0.5).astype(int)
        metrics = {
            "val_auc": float(roc_auc_score(labels, scores)),
            "val_accuracy": float(accuracy_score(labels, predicted)),
            "val_f1": float(f1_score(labels, predicted)),
        }
        client.log_metrics(info["run_id"], metrics)
        board.append({**info, **metrics})
    client.flush()
    return sorted(board, key=lambda r: (-r["val_auc"], -r["val_f1"]))


@step
def register(
    board: list[Any], promote_best: bool = True, model: str = DEMO_MODEL
) -> dict[str, Any]:
    """Register the best candidate's model as ``model`` and promote it to @champion through
    the gates (``promote_best=False``: only register, e.g. when a retraining policy
    decides)."""
    best = board[0]
    get_client().set_tags(best["run_id"], {"shipyard.demo.champion": "true"})
    version = register_model(
        f"runs:/{best['run_id']}/model",
        model,
        description=f"best of the demo sweep ({best['family']} {best['params']})",
        tags={"source": "shipyard demo"},
    )
    if not promote_best:
        return {"model": model, "version": version.version, "outcome": "registered"}
    event = promote(
        model,
        version.version,
        to="champion",
        require=list(DEMO_GATES),
        reason="best validation AUC of the demo sweep",
    )
    return {"model": model, "version": version.version, "outcome": event.outcome}


@pipeline(name="demo-training")
def training(
    test_size: float = 0.25,
    seed: int = 42,
    promote: bool = True,
    dataset: str = DATASET,
    model: str = DEMO_MODEL,
    experiment: str | None = None,
) -> None:
    """ingest -> validate -> split -> train (sweep) -> evaluate -> register (and promote,
    unless ``promote=False``): the latest version of ``dataset``, candidates tracked in
    ``experiment``, the best registered as ``model``.

    Args:
        test_size: The share of rows held out for evaluation.
        seed: The seed of the split and the sweep.
        promote: Promote the best version to champion.
        dataset: The dataset whose latest version is trained on.
        model: The registered model the best candidate becomes a version of.
        experiment: The experiment the candidates are tracked in (default: the enclosing run's).
    """
    frame = ingest(data.ref(f"{dataset}@latest"))
    report = validate(frame)
    train_set, test_set = split(frame, report, test_size=test_size, seed=seed)
    models, runs = [], []
    for index, (family, params) in enumerate(candidates()):
        fitted, run = train(
            train_set, family=family, params=params, index=index, experiment=experiment
        )
        models.append(fitted)
        runs.append(run)
    board = evaluate(test_set, models, runs)
    register(board, promote_best=promote, model=model)
