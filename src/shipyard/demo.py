"""The demo loop on bundled data (scikit-learn's breast-cancer set; nothing is downloaded).

The training is a pipeline: ingest -> validate -> split -> train (a small sweep over three
model families, one step and one tracked run per candidate) -> evaluate -> register. The raw
data is a versioned dataset, every step's outputs are stored and cached, and the demo runs
the pipeline twice: the second run is served entirely from the cache. The leaderboard ranks
the candidates by validation ROC AUC.

The register step records the champion: it tags the best training run and stores the chosen
model as an artifact (``champion/``) of the pipeline's parent run, where the model registry
can pick it up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from shipyard import data
from shipyard.entities import DatasetVersion, Run
from shipyard.pipelines import PipelineRunResult, pipeline, step
from shipyard.tracking import get_client, search_runs, start_run
from shipyard.tracking._autolog import save_sklearn_model

DEMO_EXPERIMENT = "demo"
DATASET = "breast-cancer"
TARGET = "target"
Progress = Callable[[str, int, int], None]


@dataclass
class DemoResult:
    """What the demo produced: the runs (best first), the dataset and both pipeline runs."""

    experiment: str
    sweep_run_id: str
    leaderboard: list[Run] = field(default_factory=list)
    seconds: float = 0.0
    dataset: DatasetVersion | None = None
    first: PipelineRunResult | None = None
    second: PipelineRunResult | None = None


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
    """The label as an integer column; duplicate rows dropped."""
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
    """Fit one candidate in a tracked run (params, fit time, the model as skops)."""
    import tempfile

    model = _model(family, params)
    with start_run(name=f"{family}-{index}") as run:
        run.log_params({"model": family, **params})
        started = time.perf_counter()
        model.fit(train.drop(columns=[TARGET]), train[TARGET])
        run.log_metric("fit_time_s", time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as tmp:
            run.log_artifact(save_sklearn_model(model, Path(tmp) / "model"), "model")
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
def register(board: list[Any], models: list[Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Record the champion: tag its run and store its model with the parent run."""
    import tempfile

    from shipyard.tracking import active_run

    best = board[0]
    model = models[[r["run_id"] for r in runs].index(best["run_id"])]
    client = get_client()
    client.set_tags(best["run_id"], {"shipyard.demo.champion": "true"})
    parent = active_run()
    if parent is not None:
        with tempfile.TemporaryDirectory() as tmp:
            parent.log_artifact(save_sklearn_model(model, Path(tmp) / "model"), "champion")
            parent.set_tag("shipyard.demo.champion_run", best["run_id"])
    return {"run_id": best["run_id"], "name": best["name"], "val_auc": best["val_auc"]}


@pipeline(name="demo-training")
def training(test_size: float = 0.25, seed: int = 42) -> None:
    """ingest -> validate -> split -> train (sweep) -> evaluate -> register."""
    frame = ingest(data.ref(f"{DATASET}@latest"))
    report = validate(frame)
    train_set, test_set = split(frame, report, test_size=test_size, seed=seed)
    models, runs = [], []
    for index, (family, params) in enumerate(candidates()):
        model, run = train(train_set, family=family, params=params, index=index)
        models.append(model)
        runs.append(run)
    board = evaluate(test_set, models, runs)
    register(board, models, runs)


# ----------------------------------------------------------------------------- the demo


def register_dataset() -> DatasetVersion:
    """The bundled breast-cancer data as a dataset version (the same version every time)."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    return data.register(DATASET, frame, description="scikit-learn's breast-cancer data")


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
    return DemoResult(
        experiment,
        sweep.id,
        leaderboard,
        time.perf_counter() - started,
        dataset,
        first,
        second,
    )
