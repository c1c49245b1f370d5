"""`shipyard import mlflow` reproduces an MLflow store made by MLflow itself: every run,
metric point, artifact, logged model, version and alias, and a second import adds nothing."""

from __future__ import annotations

import hashlib
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from shipyard.client import LocalStore
from shipyard.config import Settings
from shipyard.errors import InvalidArgument, NotFound
from shipyard.importers import LOGGED_MODEL_TAG, import_mlflow
from tests.support.cli import Cli


def _imported(store: LocalStore, experiment: str) -> dict[str, Any]:
    """Runs of an experiment by their MLflow id."""
    exp = store.get_experiment_by_name(experiment)
    page = store.search_runs([exp.id], None, None, 1000, None, include_deleted=True)
    return {
        r.tags["mlflow.import.run_id"]: r for r in page.runs if "mlflow.import.run_id" in r.tags
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_import_reproduces_every_record_and_is_idempotent(
    mlflow_store: dict[str, Any], settings: Settings
) -> None:
    store = LocalStore(settings)
    summary = import_mlflow(store, mlflow_store["db"], project="ml")
    assert summary.verified, summary.mismatches
    assert (summary.runs, summary.logged_models, summary.versions, summary.aliases) == (4, 2, 2, 1)
    assert summary.metric_points == 1502 + 2

    runs = mlflow_store["made"]["runs"]
    churn = _imported(store, "churn")
    parent = churn[runs["parent"]]
    assert parent.name == "parent" and parent.status == "FINISHED"
    assert parent.params == {"lr": "0.1", "depth": "3"} and parent.tags["team"] == "fraud"
    loss = store.get_metric_history(parent.id, "loss")
    assert len(loss) == 1502
    assert [(p.step, p.value) for p in loss[:3]] == [(0, 1.0), (1, 0.5), (2, 1.0 / 3)]
    at_last_step = [p.value for p in loss if p.step == 1500]
    assert (
        len(at_last_step) == 2 and any(math.isnan(v) for v in at_last_step) and 0.5 in at_last_step
    )
    assert churn[runs["failed"]].status == "FAILED"

    # Artifacts: the same bytes, by sha256.
    folder = Path(mlflow_store["artifacts"]) / "churn" / runs["parent"] / "artifacts"
    stored = {a.path: a.digest for a in store.list_artifacts(parent.id)}
    assert stored == {
        "files/readme.txt": _sha256(folder / "files/readme.txt"),
        "files/sub/data.bin": _sha256(folder / "files/sub/data.bin"),
    }

    # Nesting, deletion and the project.
    child = store.get_run(_imported(store, "Default")[runs["child"]].id)
    assert child.parent_run_id == parent.id
    old = store.get_experiment_by_name("old")
    assert old.lifecycle == "deleted" and old.project == "ml"
    assert _imported(store, "old")[runs["deleted"]].lifecycle == "deleted"

    # Logged models are child runs; versions hold their files; the alias moved.
    models = [store.get_run(r) for r in store.child_runs(parent.id)]
    logged = sorted(r.name for r in models if LOGGED_MODEL_TAG in r.tags)
    assert logged == ["model", "model2"]
    champion = store.get_model_version_by_alias("iris", "champion")
    assert champion.flavor == "mlflow" and champion.tags["validated"] == "yes"
    assert champion.run_id == parent.id
    assert "MLmodel" in {f.path for f in champion.files}
    assert [v.version for v in store.list_model_versions("iris")] == [2, 1]
    assert store.get_registered_model("iris").tags["owner"] == "ann"

    again = import_mlflow(store, mlflow_store["db"], project="ml")
    assert again.verified
    assert (again.runs, again.logged_models, again.versions, again.aliases) == (0, 0, 0, 0)
    assert (again.runs_skipped, again.versions_skipped) == (4, 2)
    assert len(store.get_metric_history(parent.id, "loss")) == 1502


def test_cli_import_prints_a_checked_summary(
    mlflow_store: dict[str, Any], sqlite_sdk: object, cli: Cli
) -> None:
    out = cli.ok("import", "mlflow", "--from", f"sqlite:///{mlflow_store['db']}")
    assert "Imported 3 experiments, 4 runs (1,504 metric points" in out
    assert "every record is intact" in out
    out = cli.ok("import", "mlflow", "--from", str(mlflow_store["db"]))
    assert "Imported 0 experiments, 0 runs" in out and "skipped 4 runs and 2 versions" in out


def test_import_refuses_what_is_not_an_mlflow_database(
    tmp_path: Path, sqlite_settings: Settings
) -> None:
    store = LocalStore(sqlite_settings)
    with pytest.raises(NotFound) as missing:
        import_mlflow(store, tmp_path / "nope.db")
    assert missing.value.field == "from"
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(InvalidArgument, match="not an MLflow tracking database"):
        import_mlflow(store, other)
