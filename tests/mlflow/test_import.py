"""`shipyard import mlflow` reproduces an MLflow store made by MLflow itself, whether it is a
SQLite tracking database, an ``mlruns`` file store or a live ``mlflow server``: every run,
metric point, param, tag, artifact (by sha256), logged model, version and alias, and a second
import adds nothing. What is not an MLflow store is a clear error, with nothing written."""

from __future__ import annotations

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
from tests.support.server import LiveServer


def _imported(store: LocalStore, experiment: str) -> dict[str, Any]:
    """Runs of an experiment by their MLflow id."""
    exp = store.get_experiment_by_name(experiment)
    page = store.search_runs([exp.id], None, None, 1000, None, include_deleted=True)
    return {
        r.tags["mlflow.import.run_id"]: r for r in page.runs if "mlflow.import.run_id" in r.tags
    }


@pytest.fixture(params=["sqlite", "mlruns", "server"])
def mlflow_source(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """(what ``--from`` names, what MLflow's client logged there) for each kind of store."""
    if request.param == "sqlite":
        made = request.getfixturevalue("mlflow_store")
        return str(made["db"]), made["made"]
    if request.param == "mlruns":
        made = request.getfixturevalue("mlflow_file_store")
        return str(made["root"]), made["made"]
    made = request.getfixturevalue("mlflow_tracking_server")
    return str(made["url"]), made["made"]


def test_import_reproduces_every_record_and_is_idempotent(
    mlflow_source: tuple[str, dict[str, Any]], settings: Settings
) -> None:
    source, made = mlflow_source
    store = LocalStore(settings)
    summary = import_mlflow(store, source, project="ml")
    assert summary.verified, summary.mismatches
    assert (summary.runs, summary.logged_models, summary.versions, summary.aliases) == (4, 2, 2, 1)
    assert summary.metric_points == made["loss_points"] + 2

    runs = made["runs"]
    churn = _imported(store, "churn")
    parent = churn[runs["parent"]]
    assert parent.name == "parent" and parent.status == "FINISHED"
    assert parent.params == {"lr": "0.1", "depth": "3"} and parent.tags["team"] == "fraud"
    loss = store.get_metric_history(parent.id, "loss")
    assert len(loss) == made["loss_points"]
    # (a file store may hold a point more than once: MLflow's own reading counts them too)
    assert sorted({(p.step, p.value) for p in loss if p.step < 3}) == [
        (0, 1.0),
        (1, 0.5),
        (2, 1.0 / 3),
    ]
    at_last_step = [p.value for p in loss if p.step == 1500]
    assert (
        len(at_last_step) == 2 and any(math.isnan(v) for v in at_last_step) and 0.5 in at_last_step
    )
    assert churn[runs["failed"]].status == "FAILED"
    assert store.get_metric_history(churn[runs["failed"]].id, "acc")[0].value == 0.1

    # Artifacts: the same bytes as the files MLflow's client logged, by sha256.
    stored = {a.path: a.digest for a in store.list_artifacts(parent.id)}
    assert stored == made["sha256"]

    # Nesting, deletion and the project.
    child = store.get_run(_imported(store, "Default")[runs["child"]].id)
    assert child.parent_run_id == parent.id
    assert store.get_metric_history(child.id, "acc")[0].value == 0.9
    old = store.get_experiment_by_name("old")
    assert old.lifecycle == "deleted" and old.project == "ml"
    deleted = _imported(store, "old")[runs["deleted"]]
    assert deleted.lifecycle == "deleted" and deleted.params == {"p": "x"}

    # Logged models are child runs; versions hold their files; the alias moved.
    models = [store.get_run(r) for r in store.child_runs(parent.id)]
    logged = sorted(r.name for r in models if LOGGED_MODEL_TAG in r.tags)
    assert logged == ["model", "model2"]
    champion = store.get_model_version_by_alias("iris", "champion")
    assert champion.flavor == "mlflow" and champion.tags["validated"] == "yes"
    assert champion.run_id == parent.id
    assert {"MLmodel", "requirements.txt"} <= {f.path for f in champion.files}
    assert [v.version for v in store.list_model_versions("iris")] == [2, 1]
    assert store.get_registered_model("iris").tags["owner"] == "ann"

    again = import_mlflow(store, source, project="ml")
    assert again.verified
    assert (again.runs, again.logged_models, again.versions, again.aliases) == (0, 0, 0, 0)
    assert (again.runs_skipped, again.versions_skipped) == (4, 2)
    assert (again.metric_points, again.artifacts) == (0, 0)
    assert len(store.get_metric_history(parent.id, "loss")) == made["loss_points"]


def test_cli_import_prints_a_checked_summary(
    mlflow_store: dict[str, Any], sqlite_sdk: object, cli: Cli
) -> None:
    out = cli.ok("import", "mlflow", "--from", f"sqlite:///{mlflow_store['db']}")
    assert "Imported 3 experiments, 4 runs (1,504 metric points" in out
    assert "every record is intact" in out
    out = cli.ok("import", "mlflow", "--from", str(mlflow_store["db"]))
    assert "Imported 0 experiments, 0 runs" in out and "skipped 4 runs and 2 versions" in out


def test_import_refuses_what_is_not_an_mlflow_store(
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
    folder = tmp_path / "not-mlruns"
    (folder / "1").mkdir(parents=True)
    (folder / "1" / "notes.txt").write_text("not MLflow")
    with pytest.raises(InvalidArgument, match="is not an MLflow tracking store") as not_store:
        import_mlflow(store, folder)
    assert not_store.value.field == "from"
    assert store.list_experiments(include_deleted=True) == []  # nothing half-written


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{tmp}/missing", "no MLflow store at {tmp}/missing"),
        ("{tmp}/plain", "{tmp}/plain is not an MLflow tracking store"),
        ("{tmp}/bad-meta", "{tmp}/bad-meta/0/meta.yaml is not an MLflow meta.yaml"),
        ("http://127.0.0.1:{port}", "cannot reach the MLflow tracking server at http://127.0.0.1"),
        ("{server}/elsewhere", "{server}/elsewhere is not an MLflow tracking server"),
    ],
)
def test_cli_import_names_a_bad_source_and_writes_nothing(
    tmp_path: Path,
    sqlite_settings: Settings,
    sqlite_sdk: object,
    cli: Cli,
    unused_port: int,
    live_server: LiveServer,
    source: str,
    message: str,
) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "bad-meta" / "0").mkdir(parents=True)
    (tmp_path / "bad-meta" / "0" / "meta.yaml").write_text("- just\n- a list\n")
    names = {"tmp": tmp_path, "port": unused_port, "server": live_server.url}
    error = cli.fails("import", "mlflow", "--from", source.format(**names))
    assert message.format(**names) in error
    assert LocalStore(sqlite_settings).list_experiments(include_deleted=True) == []
