"""Every object kind carries the project it was created in, on every store: creating
methods take ``project`` (an existing record keeps its own), listings take ``projects``
(None: all) and filter before their limit, the step cache answers only within a project,
and a lineage walk can be kept to a set of projects."""

from __future__ import annotations

from pathlib import Path

from shipyard.client import Store
from shipyard.entities import (
    FeatureObject,
    LineageEdge,
    LineageNode,
    Monitor,
    PipelineRun,
    Schedule,
    StepRun,
)


def _run(pipeline: str, created_at: int = 1) -> PipelineRun:
    return PipelineRun("", pipeline, "pkg.mod:p", "FINISHED", {}, "inline", [], created_at)


def _data(store: Store, tmp_path: Path, name: str, project: str) -> str:
    source = tmp_path / f"{name}.parquet"
    source.write_bytes(name.encode())
    version = store.create_dataset_version(
        name, source, num_rows=1, schema=[], profile={}, project=project
    )
    return version.id


def test_records_keep_the_project_they_were_created_in(store: Store, tmp_path: Path) -> None:
    for project in ("default", "fraud"):
        _data(store, tmp_path, f"d-{project}", project)
        store.register_pipeline(f"p-{project}", "pkg.mod:p", project=project)
        store.create_pipeline_run(_run(f"p-{project}"), project=project)
        store.put_schedule(Schedule(f"s-{project}", f"p-{project}", "m:p", "0 3 * * *"), project)
        store.apply_feature_objects(
            [FeatureObject("entity", f"e_{project}", {"join_keys": ["id"]})], project=project
        )
        store.put_monitor(Monitor(f"mon-{project}", "m@1"), project)
    only = ["fraud"]
    assert [(d.name, d.project) for d in store.list_datasets(only)] == [("d-fraud", "fraud")]
    assert [p.name for p in store.list_pipelines(only)] == ["p-fraud"]
    assert [r.pipeline for r in store.list_pipeline_runs(projects=only)] == ["p-fraud"]
    assert [s.name for s in store.list_schedules(only)] == ["s-fraud"]
    assert [o.name for o in store.list_feature_objects(projects=only)] == ["e_fraud"]
    assert [m.name for m in store.list_monitors(only)] == ["mon-fraud"]
    assert [d.project for d in store.list_datasets()] == ["default", "fraud"]
    assert store.get_pipeline("p-fraud").project == "fraud"
    assert store.get_schedule("s-fraud").project == "fraud"
    assert store.get_monitor("mon-fraud").project == "fraud"
    assert store.get_feature_object("entity", "e_fraud").project == "fraud"
    # replacing a record by name keeps its project, whatever the caller asks for
    store.register_pipeline("p-fraud", "pkg.mod:q", project="default")
    store.put_monitor(Monitor("mon-fraud", "m@2"), "default")
    _data(store, tmp_path / "..", "d-fraud", "default")
    assert store.get_pipeline("p-fraud").project == "fraud"
    assert store.get_monitor("mon-fraud").project == "fraud"
    assert [d.project for d in store.list_datasets(only)] == ["fraud"]


def test_a_listing_filters_projects_before_its_limit(store: Store) -> None:
    store.create_pipeline_run(_run("old", 1), project="fraud")
    for at in range(2, 5):
        store.create_pipeline_run(_run("new", at), project="default")
    found = store.list_pipeline_runs(limit=1, projects=["fraud"])
    assert [(r.pipeline, r.project) for r in found] == [("old", "fraud")]


def test_the_step_cache_answers_only_within_a_project(store: Store) -> None:
    step = StepRun("", "", "a", "m:a", "FINISHED", cache_key="k", end_time=5)
    _, (ours,) = store.create_pipeline_run(_run("p"), [step], project="default")
    planted = StepRun("", "", "a", "m:a", "FINISHED", cache_key="k", end_time=9)
    store.create_pipeline_run(_run("p"), [planted], project="fraud")
    hit = store.find_cached_step_run("k", project="default")
    assert hit is not None and hit.id == ours
    assert store.find_cached_step_run("k", project="elsewhere") is None


def test_a_lineage_walk_kept_to_projects_stops_at_other_projects_nodes(
    store: Store, tmp_path: Path
) -> None:
    ours = LineageNode("dataset_version", _data(store, tmp_path, "ours", "default"))
    theirs = LineageNode("dataset_version", _data(store, tmp_path, "theirs", "fraud"))
    beyond = LineageNode("dataset_version", _data(store, tmp_path, "beyond", "default"))
    nowhere = LineageNode("deployment", "prod")
    store.add_lineage_edges(
        [
            LineageEdge(ours, theirs, "produced"),
            LineageEdge(theirs, beyond, "produced"),
            LineageEdge(ours, nowhere, "produced"),
        ]
    )
    assert len(store.get_lineage(ours, "down")) == 3
    kept = store.get_lineage(ours, "down", projects=["default"])
    assert kept == []  # fraud's node and the unowned deployment are not followed
    assert len(store.get_lineage(ours, "down", projects=["default", "fraud"])) == 2
