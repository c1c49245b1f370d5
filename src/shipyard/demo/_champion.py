"""From bundled data to a champion: version the data, run the training pipeline
twice (the second run is served entirely from the cache), rank the tracked runs by
validation AUC, load the champion back by alias (hash-verified) and score a few validation
rows with it, then serve the features online for a few patients.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipyard import models
from shipyard.demo._data import TARGET, register_dataset, serve_features
from shipyard.demo._names import DemoNames
from shipyard.demo._training import training
from shipyard.entities import AliasEvent, DatasetVersion, ModelVersion, Run, StepStatus
from shipyard.pipelines import PipelineRunResult
from shipyard.registry import alias_history, resolve
from shipyard.tracking import get_client, search_runs, start_run

#: Told ``(label, done, total)`` as each pipeline step ends.
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
    registered version, its promotion and the rows the champion scored.

    Attributes:
        experiment: The experiment the sweep's runs are in.
        sweep_run_id: The parent run of the sweep.
        leaderboard: The sweep's runs, best validation ROC AUC first.
        seconds: How long the demo took.
        dataset: The dataset version the pipeline trained on.
        first: The first pipeline run.
        second: The second pipeline run (its steps from the cache).
        version: The registered model version.
        promotion: Its promotion (the alias event).
        scored: The rows the champion scored.
        features: The features served online for the demo's entity.
    """

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


def run_demo(progress: Progress | None = None, names: DemoNames | None = None) -> DemoResult:
    """Version the data, run the training pipeline twice (the second time from the cache)
    and return the leaderboard ordered by validation ROC AUC, all under ``names`` (default:
    the first demo's)."""
    names = names or DemoNames.numbered(1)
    experiment = names.experiment
    params: dict[str, Any] = {
        "dataset": names.dataset,
        "model": names.model,
        "experiment": experiment,
    }
    started = time.perf_counter()
    total = len(training.build().order)
    done: set[str] = set()

    def on_event(name: str, status: str, info: dict[str, Any]) -> None:
        if progress is not None and status in (
            StepStatus.FINISHED,
            StepStatus.FAILED,
            StepStatus.SKIPPED,
        ):
            done.add(name)
            cached = " (cached)" if info.get("cache_hit") else ""
            progress(f"{name}{cached}", len(done), total)

    dataset = register_dataset(names.dataset)
    with start_run(experiment=experiment, name="training-pipeline") as sweep:
        sweep.log_params({"dataset": dataset.ref, "rows": dataset.num_rows})
        first = training.run(on_event=on_event, **params)
    done.clear()
    second = training.run(on_event=on_event, **params)
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
