"""`shipyard demo` end to end, as a user runs it in a fresh directory: training, the
registry, features, serving and the closed loop, checked in its output and in the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard
from shipyard.demo import SHIFTED
from shipyard.tracking import get_client
from tests.support.cli import Cli


@pytest.mark.slow
def test_demo_end_to_end(
    cli: Cli, default_client: None, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = cli.ok("demo")
    assert (tmp_path / ".shipyard").is_dir()  # the default home in the working directory

    board, _, registry_part = out.partition("best:")
    ranked = [cli.cells(line) for line in board.splitlines() if line.startswith("│")]
    assert [r[0] for r in ranked] == [str(i) for i in range(1, 9)]
    aucs = [float(r[4]) for r in ranked]
    assert aucs == sorted(aucs, reverse=True)
    best_line = cli.row(out, "best:")
    assert "val_auc=" in best_line
    assert "tracked 8 runs in experiment demo" in out

    client = get_client()
    runs = shipyard.search_runs("demo", "metrics.val_auc > 0", output="runs").runs
    assert len(runs) == 8
    for run in runs:
        assert run.status == "FINISHED"
        assert 0.5 < run.metrics["val_auc"] <= 1.0
        paths = {a.path for a in client.store.list_artifacts(run.id)}
        assert {"model/model.state", "model/shipyard-model.json"} <= paths
    best = max(runs, key=lambda r: r.metrics["val_auc"])
    assert best.id[:8] == ranked[0][1]
    assert best.name in best_line
    assert best.parent_run_id is not None  # all under the sweep run
    assert {r.parent_run_id for r in runs} == {best.parent_run_id}

    # the best run's model was registered, promoted through the gates and scored rows
    assert "registered demo-model/1 from run " + best.id[:8] in registry_part
    assert "promoted: demo-model@champion -> version 1" in registry_part
    assert "metrics.val_auc > 0.9" in registry_part
    version = shipyard.models.get_version("demo-model/1")  # (the loop promotes version 2)
    assert version.run_id == best.id
    assert version.metrics["val_auc"] == best.metrics["val_auc"]
    event = shipyard.models.history("demo-model")[-1]
    assert (
        event.to_version == 1
        and event.outcome == "moved"
        and len(event.gates) == 2
        and event.passed
    )
    scored = [cli.cells(line) for line in registry_part.partition("p(benign)")[2].splitlines()]
    assert len([r for r in scored if len(r) == 4 and r[0].isdigit()]) == 5

    # the champion loads back by alias (hash-verified) and is a good model
    from sklearn.datasets import load_breast_cancer

    model = shipyard.models.load("demo-model@champion")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    assert (model.predict(X) == y).mean() > 0.9

    # and the CLI finds them
    listed = cli.ok("runs", "search", "metrics.val_auc > 0", "-e", "demo", "-n", "50")
    assert len([line for line in listed.splitlines() if "FINISHED" in line]) == 8

    # the training was a pipeline over a versioned dataset; the second run was all cached
    assert "(0/13 steps cached)" in out and "(13/13 steps cached)" in out
    [_, second, first] = client.store.list_pipeline_runs(pipeline="demo-training")
    assert first.status == second.status == "FINISHED"
    steps = {s.name: s for s in client.store.list_step_runs(second.id)}
    assert all(s.cache_hit for s in steps.values()) and len(steps) == 13
    assert [d["name"] for d in first.dag][:3] == ["ingest", "validate", "split"]
    assert [d["name"] for d in first.dag][-2:] == ["evaluate", "register"]
    # lineage walks from the best model's run back to the raw dataset version
    up = shipyard.lineage.upstream(f"run:{best.id}")
    assert "breast-cancer@1" in {up.label(n) for n in up.of_kind("dataset_version")}
    assert shipyard.get_run(best.id).tags["shipyard.demo.champion"] == "true"
    assert "register FINISHED" in cli.ok("pipelines", "show", first.id[:12])

    # the training set is a point-in-time join of the feature service, served online too
    assert "569 patients materialized online" in out
    assert "(PRESENT, PRESENT, PRESENT)" in out.replace("\n", " ")
    saved = shipyard.data.get("breast-cancer@1")
    assert {"patient_id", "event_timestamp", "mean radius"} <= set(saved.columns)
    feature_up = shipyard.lineage.upstream(saved)
    assert {n.id for n in feature_up.of_kind("feature_view")} == {"measurements"}
    assert "demo-features" in cli.ok("features", "list")

    # the closed loop: shifted traffic, drift on the recalibrated columns, labels, the
    # retraining policy promotes a new champion, the server swaps, lineage walks back
    from shipyard.monitoring import monitor_history

    loop = out.partition("The closed loop")[2]
    first, second = reversed(monitor_history("demo-model"))
    assert sorted(first.result["drift"]["drifted_columns"]) == sorted(SHIFTED)
    assert first.result["alerts"]["drifted_columns > 0"]["firing"]
    assert first.result["retrain"]["outcome"] == "skipped"
    retrain = second.result["retrain"]
    assert retrain["outcome"] == "promoted", retrain
    assert retrain["candidate"] == 2 and retrain["champion"] == 1
    assert retrain["candidate_score"] > retrain["champion_score"]
    assert shipyard.models.get_version("demo-model@champion").version == 2
    assert shipyard.data.get("breast-cancer@latest").version == 2
    flat = " ".join(loop.split())
    assert "6 of 30 columns drifted" in flat
    assert "swapped from version 1 to 2" in flat and "100/100 later responses" in flat
    assert cli.cells(cli.row(loop, "after the swap"))[2] == "v2"
    walks = loop.partition("(before the retraining)")[2]
    before, _, after = walks.partition("(after the retraining)")
    assert "demo-model/1" in before and "breast-cancer@1" in before
    assert "demo-model/2" in after and "breast-cancer@2" in after
    assert "triggered by monitor run " + second.id[:12] in after
    assert "git commit" in before and "git commit" in after

    # doctor scores the demo's folder above a bare repository, and says why
    from shipyard.project import assess

    bare = tmp_path_factory.mktemp("bare")  # a folder of its own, with no store
    demo_areas = {a.area: a for a in assess(tmp_path).areas}
    env = {**os.environ, "SHIPYARD_HOME": str(bare / ".shipyard")}
    env.pop("SHIPYARD_DB_URL", None)
    scored = subprocess.run(
        [sys.executable, "-m", "shipyard", "doctor", "--json", str(bare)],
        cwd=bare,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    bare_levels = {a["area"]: a["level"] for a in json.loads(scored.stdout)["areas"]}
    assert not (bare / ".shipyard").exists()  # doctor created no store
    for area in ("model registry", "monitoring", "deployment", "pipelines", "data"):
        assert demo_areas[area].level > bare_levels[area] == 0, area
    assert "promotions pass recorded gates" in demo_areas["model registry"].met
    assert "alerts trigger retraining" in demo_areas["monitoring"].met
    assert "deployments are recorded" in demo_areas["deployment"].met


@pytest.mark.slow
def test_demo_runs_again_in_the_same_folder_under_fresh_names(
    cli: Cli, default_client: None, tmp_path: Path
) -> None:
    first = cli.ok("demo")
    second = cli.ok("demo")
    flat = " ".join(second.split())
    assert "demo run 2 in this store, in a fresh experiment demo-2, model demo-model-2" in flat
    assert "tracked 8 runs in experiment demo-2" in flat
    assert "promoted: demo-model-2@champion -> version 1" in flat
    assert "swapped from version 1 to 2" in flat
    assert "dataset breast-cancer-2@1" in flat and "(3/13 steps cached)" in flat
    assert "shipyard lineage run: --up" not in flat  # a run id is always given

    # the first run's objects are as the first run left them
    assert shipyard.models.get_version("demo-model@champion").version == 2
    assert shipyard.data.get("breast-cancer@latest").version == 2
    assert shipyard.models.get_version("demo-model-2@champion").version == 2
    assert shipyard.data.get("breast-cancer-2@latest").version == 2
    for experiment in ("demo", "demo-2"):
        runs = shipyard.search_runs(experiment, "metrics.val_auc > 0", output="runs").runs
        assert len(runs) >= 8
    assert "tracked 8 runs in experiment demo " in " ".join(first.split())
