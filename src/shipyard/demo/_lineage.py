"""One prediction walked back to its data and code: prediction -> model version -> training
run -> pipeline run -> dataset versions -> git commit (and the monitor run that triggered a
retraining). The version that answered is read from the server's prediction log."""

from __future__ import annotations

from dataclasses import dataclass, field

from shipyard.entities import LineageNode
from shipyard.serving import read_predictions
from shipyard.tracking import get_client


@dataclass
class PredictionLineage:
    """One prediction walked back: the version that answered, its training run, the
    pipeline run, the dataset versions, the git commit and (after retraining) the monitor
    run that triggered it.

    Attributes:
        prediction_id: The prediction walked back.
        model: The registered model that answered.
        version: The version that answered.
        run: Its training run.
        pipeline_runs: The pipeline runs upstream of it.
        datasets: The dataset versions upstream of it.
        commit: The git commit the training run recorded.
        monitor_runs: The monitor runs that triggered retraining, if any.
    """

    prediction_id: str
    model: str
    version: int
    run: str = ""
    pipeline_runs: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    commit: str = ""
    monitor_runs: list[str] = field(default_factory=list)


def walk(prediction_id: str, model: str) -> PredictionLineage:
    """Walk one prediction of ``model`` back to the version that answered it and upstream
    from there."""
    client = get_client()
    store = client.store
    logged = read_predictions(model, columns=["prediction_id", "version"], settings=client.settings)
    version_number = int(logged.loc[logged["prediction_id"] == prediction_id, "version"].iloc[0])
    version = store.get_model_version(model, version_number)
    edges = store.get_lineage(LineageNode("model_version", version.id), "up")
    ups = {e.src for e in edges}

    def of(kind: str) -> list[str]:
        return sorted({n.id for n in ups if n.kind == kind})

    found = PredictionLineage(prediction_id, model, version_number, version.run_id or "")
    found.pipeline_runs = of("pipeline_run")
    found.datasets = sorted(store.get_dataset_version_by_id(i).ref for i in of("dataset_version"))
    found.monitor_runs = of("monitor_run")
    if version.run_id:
        found.commit = store.get_run(version.run_id).tags.get("shipyard.git.commit", "")
    return found
