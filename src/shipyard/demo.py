"""The demo loop on bundled data (scikit-learn's breast-cancer set; nothing is downloaded).

1. A small hyper-parameter sweep over three model families, every fit tracked as a run
   (params, metrics, the fitted model in the registry's safe format with its signature), and
   a leaderboard of the results.
2. The best run's model registered as ``demo-model``, promoted to ``@champion`` through
   promotion gates, loaded back by alias (hash-verified) and used to score a few rows.

Later stages of the product extend this function.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from shipyard.entities import AliasEvent, ModelVersion, Run
from shipyard.registry import load_model, log_model, promote, register_model
from shipyard.tracking import get_client, search_runs, start_run

DEMO_EXPERIMENT = "demo"
DEMO_MODEL = "demo-model"
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
    """What the demo produced: the runs (best first), the parent sweep run, the registered
    version, its promotion and the rows the champion scored."""

    experiment: str
    sweep_run_id: str
    leaderboard: list[Run] = field(default_factory=list)
    seconds: float = 0.0
    version: ModelVersion | None = None
    promotion: AliasEvent | None = None
    scored: list[Scored] = field(default_factory=list)


def _candidates() -> Iterator[tuple[str, Any, dict[str, Any]]]:
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    for c in (0.1, 1.0, 10.0):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
        yield "logreg", model, {"C": c}
    for n_estimators, max_depth in ((50, 4), (100, 8), (200, None)):
        model = RandomForestClassifier(
            n_estimators=n_estimators, max_depth=max_depth, random_state=0, n_jobs=1
        )
        yield "random_forest", model, {"n_estimators": n_estimators, "max_depth": max_depth}
    for learning_rate in (0.05, 0.2):
        model = GradientBoostingClassifier(learning_rate=learning_rate, random_state=0)
        yield "gradient_boosting", model, {"learning_rate": learning_rate}


def run_demo(progress: Progress | None = None, experiment: str = DEMO_EXPERIMENT) -> DemoResult:
    """Train and track the sweep, then register, promote, load and use the best model."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    data = load_breast_cancer(as_frame=True)
    X_train, X_val, y_train, y_val = train_test_split(
        data.data, data.target, test_size=0.25, random_state=42, stratify=data.target
    )
    candidates = list(_candidates())
    with start_run(experiment=experiment, name="sweep") as sweep:
        sweep.log_params(
            {
                "dataset": "sklearn.breast_cancer",
                "rows": len(data.data),
                "candidates": len(candidates),
            }
        )
        for index, (family, model, params) in enumerate(candidates):
            if progress is not None:
                progress(f"{family} {params}", index, len(candidates))
            with start_run(name=f"{family}-{index}") as run:
                run.log_params({"model": family, **params})
                fit_started = time.perf_counter()
                model.fit(X_train, y_train)
                scores = model.predict_proba(X_val)[:, 1]
                predicted = (scores >= 0.5).astype(int)
                run.log_metrics(
                    {
                        "fit_time_s": time.perf_counter() - fit_started,
                        "val_auc": float(roc_auc_score(y_val, scores)),
                        "val_accuracy": float(accuracy_score(y_val, predicted)),
                        "val_f1": float(f1_score(y_val, predicted)),
                    }
                )
                log_model(model, "model", input_example=X_val.head())
        if progress is not None:
            progress("done", len(candidates), len(candidates))
    get_client().flush()
    page = search_runs(
        experiment,
        filter=f"parent_run_id = '{sweep.id}' and status = 'FINISHED'",
        order_by=["metrics.val_auc desc", "metrics.val_f1 desc"],
        output="runs",
    )
    result = DemoResult(experiment, sweep.id, page.runs)
    if page.runs:
        _ship_best(result, page.runs[0], X_val, y_val)
    result.seconds = time.perf_counter() - started
    return result


def _ship_best(result: DemoResult, best: Run, X_val: Any, y_val: Any) -> None:
    """Register the best run's model, promote it through the gates, load it back by alias
    and score a few validation rows with it."""
    result.version = register_model(
        f"runs:/{best.id}/model",
        DEMO_MODEL,
        description=f"best of the demo sweep ({best.params.get('model', '?')})",
        tags={"source": "shipyard demo"},
    )
    result.promotion = promote(
        DEMO_MODEL,
        result.version.version,
        to="champion",
        require=list(DEMO_GATES),
        reason="best validation AUC of the demo sweep",
    )
    champion = load_model(f"{DEMO_MODEL}@champion")
    rows = X_val.head(5)
    predicted = champion.predict(rows)
    probability = champion.predict_proba(rows)[:, 1]
    result.scored = [
        Scored(int(index), int(label), int(p), float(q))
        for index, label, p, q in zip(
            rows.index, y_val.loc[rows.index], predicted, probability, strict=True
        )
    ]
