"""The demo loop on bundled data (scikit-learn's breast-cancer set; nothing is downloaded).

The training is a pipeline: ingest -> validate -> split -> train (a small sweep over three
model families, one step and one tracked run per candidate, each model logged in the
registry's safe format with its signature) -> evaluate -> register. The raw data is a
versioned dataset, every step's outputs are stored and cached, and the demo runs the pipeline
twice: the second run is served entirely from the cache.

The training data comes from the feature store: the measurements are a feature view of
the ``patient`` entity, and the training set is a point-in-time join of the labels with the
``demo-features`` service, saved as the dataset the pipeline reads. The features are then
materialized into the online store and looked up for a few patients.

The register step registers the best candidate as ``demo-model`` and promotes it to
``@champion`` through promotion gates. The demo then loads the champion back by alias
(hash-verified) and scores a few validation rows with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from shipyard import data, features as fs, models
from shipyard.entities import AliasEvent, DatasetVersion, ModelVersion, Run
from shipyard.pipelines import PipelineRunResult, pipeline, step
from shipyard.registry import (
    alias_history,
    log_model,
    promote,
    register_model,
    resolve,
)
from shipyard.tracking import get_client, search_runs, start_run

DEMO_EXPERIMENT = "demo"
DATASET = "breast-cancer"
TARGET = "target"
DEMO_MODEL = "demo-model"
PATIENT = "patient_id"
FEATURE_SERVICE = "demo-features"
_MEASURED = pd.Timestamp("2024-01-01")  # naive: profiles of aware times need pytz
#: The gates the best model must pass to become @champion.
DEMO_GATES = ("metrics.val_auc >= champion.metrics.val_auc", "metrics.val_auc > 0.9")
Progress = Callable[[str, int, int], None]


@dataclass
class Scored:
    """One row scored by the champion: its index, the true label, the prediction and the
    probability of the positive class."""

    row: int
    label: int
    predicted: int
    probability: float


@dataclass
class DemoResult:
    """What the demo produced: the runs (best first), the dataset, both pipeline runs, the
    registered version, its promotion and the rows the champion scored."""

    experiment: str
    sweep_run_id: str
    leaderboard: list[Run] = field(default_factory=list)
    seconds: float = 0.0
    dataset: DatasetVersion | None = None
    first: PipelineRunResult | None = None
    second: PipelineRunResult | None = None
    version: ModelVersion | None = None
    promotion: AliasEvent | None = None
    scored: list[Scored] = field(default_factory=list)
    features: dict[str, Any] = field(default_factory=dict)


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


# ----------------------------------------------------------------------------- steps


@step
def ingest(raw: pd.DataFrame) -> pd.DataFrame:
    """The label as an integer column (entity id and time dropped); duplicate rows dropped."""
    raw = raw.drop(columns=[c for c in (PATIENT, "event_timestamp") if c in raw.columns])
    return raw.astype({TARGET: "int64"}).drop_duplicates().reset_index(drop=True)


@step
def validate(frame: pd.DataFrame) -> dict[str, Any]:
    """Refuse data with missing values, a non-binary label or too few rows."""
    problems = []
    if frame.isna().any().any():
        problems.append("missing values")
    if sorted(frame[TARGET].unique().tolist()) != [0, 1]:
        problems.append("the label is not binary")
    if len(frame) < 100:
        problems.append(f"only {len(frame)} rows")
    if problems:
        raise ValueError(f"the data failed validation: {', '.join(problems)}")
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
def train(train: pd.DataFrame, family: str, params: dict[str, Any], index: int) -> Any:
    """Fit one candidate in a tracked run (params, fit time, the model with its signature)."""
    model = _model(family, params)
    features = train.drop(columns=[TARGET])
    with start_run(name=f"{family}-{index}") as run:
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
def register(board: list[Any], promote_best: bool = True) -> dict[str, Any]:
    """Register the best candidate's model and promote it to @champion through the gates
    (``promote_best=False``: only register, e.g. when a retraining policy decides)."""
    best = board[0]
    get_client().set_tags(best["run_id"], {"shipyard.demo.champion": "true"})
    version = register_model(
        f"runs:/{best['run_id']}/model",
        DEMO_MODEL,
        description=f"best of the demo sweep ({best['family']} {best['params']})",
        tags={"source": "shipyard demo"},
    )
    if not promote_best:
        return {"model": DEMO_MODEL, "version": version.version, "outcome": "registered"}
    event = promote(
        DEMO_MODEL,
        version.version,
        to="champion",
        require=list(DEMO_GATES),
        reason="best validation AUC of the demo sweep",
    )
    return {"model": DEMO_MODEL, "version": version.version, "outcome": event.outcome}


@pipeline(name="demo-training")
def training(test_size: float = 0.25, seed: int = 42, promote: bool = True) -> None:
    """ingest -> validate -> split -> train (sweep) -> evaluate -> register (and promote,
    unless ``promote=False``)."""
    frame = ingest(data.ref(f"{DATASET}@latest"))
    report = validate(frame)
    train_set, test_set = split(frame, report, test_size=test_size, seed=seed)
    models, runs = [], []
    for index, (family, params) in enumerate(candidates()):
        model, run = train(train_set, family=family, params=params, index=index)
        models.append(model)
        runs.append(run)
    board = evaluate(test_set, models, runs)
    register(board, promote_best=promote)


# ----------------------------------------------------------------------------- the demo


def register_dataset() -> DatasetVersion:
    """The training set as a dataset version (the same version every time): the labels
    joined point-in-time with the ``demo-features`` service of the feature store."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    ids = pd.Series(range(len(frame)), dtype="int64")
    measured = _MEASURED + pd.to_timedelta(ids, unit="min")
    measurements = frame.drop(columns=[TARGET]).assign(
        **{PATIENT: ids, "event_timestamp": measured}
    )
    patient = fs.Entity("patient", [PATIENT])
    view = fs.FeatureView(
        "measurements",
        [patient],
        measurements,
        schema=[fs.Field(c, "float64") for c in frame.columns if c != TARGET],
        ttl=pd.Timedelta(days=30).to_pytimedelta(),
        description="scikit-learn's breast-cancer measurements",
    )
    fs.apply([patient, view, fs.FeatureService(FEATURE_SERVICE, [view])])
    labels = pd.DataFrame(
        {PATIENT: ids, "event_timestamp": measured + pd.Timedelta(days=1), TARGET: frame[TARGET]}
    )
    fs.get_historical_features(labels, FEATURE_SERVICE, save_as=DATASET)
    return data.get(f"{DATASET}@latest")


def serve_features(patients: list[int]) -> dict[str, Any]:
    """Materialize the demo features online and look up a few patients (as of two days
    after the measurements, within the view's TTL)."""
    done = fs.materialize(views=["measurements"])
    as_of = (_MEASURED + pd.Timedelta(days=2)).to_pydatetime()
    online = fs.get_online_features([{PATIENT: p} for p in patients], FEATURE_SERVICE, as_of=as_of)
    return {
        "service": FEATURE_SERVICE,
        "materialized": sum(m.rows for m in done),
        "patients": patients,
        "mean radius": online.values["mean radius"],
        "statuses": online.statuses["mean radius"],
    }


def run_demo(progress: Progress | None = None, experiment: str = DEMO_EXPERIMENT) -> DemoResult:
    """Version the data, run the training pipeline twice (the second time from the cache)
    and return the leaderboard ordered by validation ROC AUC."""
    started = time.perf_counter()
    total = len(training.build().order)
    done: set[str] = set()

    def on_event(name: str, status: str, info: dict[str, Any]) -> None:
        if progress is not None and status in ("FINISHED", "FAILED", "SKIPPED"):
            done.add(name)
            cached = " (cached)" if info.get("cache_hit") else ""
            progress(f"{name}{cached}", len(done), total)

    dataset = register_dataset()
    with start_run(experiment=experiment, name="training-pipeline") as sweep:
        sweep.log_params({"dataset": dataset.ref, "rows": dataset.num_rows})
        first = training.run(on_event=on_event)
    done.clear()
    second = training.run(on_event=on_event)
    board = first.output("evaluate")
    ids = [row["run_id"] for row in board]
    get_client().flush()
    found = search_runs(experiment, filter="metrics.val_auc > 0", output="runs", limit=1000).runs
    by_id = {run.id: run for run in found}
    leaderboard = [by_id[i] for i in ids if i in by_id]
    result = DemoResult(experiment, sweep.id, leaderboard, 0.0, dataset, first, second)
    _score_with_champion(result, first.output("register"), first.output("split", 1))
    result.features = serve_features([0, 1, 2])
    result.seconds = time.perf_counter() - started
    return result


def _score_with_champion(result: DemoResult, registered: dict[str, Any], test: Any) -> None:
    """Load the champion back by alias (hash-verified) and score a few validation rows."""
    result.version = resolve(registered["model"], registered["version"])
    history = alias_history(registered["model"], "champion")
    result.promotion = next((e for e in history if e.to_version == result.version.version), None)
    champion = models.load(f"{registered['model']}@champion")
    rows = test.head(5)
    features = rows.drop(columns=[TARGET])
    predicted = champion.predict(features)
    probability = champion.predict_proba(features)[:, 1]
    result.scored = [
        Scored(int(index), int(label), int(p), float(q))
        for index, label, p, q in zip(rows.index, rows[TARGET], predicted, probability, strict=True)
    ]
