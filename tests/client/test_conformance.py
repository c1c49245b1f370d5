"""Conformance suite of the Store protocol, run against every backend.

Each test uses the ``store`` fixture, which is parametrized over SQLite and PostgreSQL (and
later the REST store), so implementations cannot drift apart.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from shipyard.client import Store
from shipyard.entities import MetricPoint
from shipyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound


def _run(store: Store, experiment: str = "exp", name: str = "r") -> str:
    exp = store.get_or_create_experiment(experiment)
    return store.create_run(exp.id, name, user="tester").id


def test_store_satisfies_the_protocol(store: Store) -> None:
    assert isinstance(store, Store)


def test_experiment_lifecycle(store: Store) -> None:
    exp = store.create_experiment("churn", "predict churn", {"team": "growth"})
    assert store.get_experiment(exp.id).tags == {"team": "growth"}
    assert store.get_experiment_by_name("churn").id == exp.id
    with pytest.raises(AlreadyExists, match="already exists"):
        store.create_experiment("churn")
    store.rename_experiment(exp.id, "churn-v2")
    assert store.get_experiment(exp.id).name == "churn-v2"
    other = store.create_experiment("other")
    with pytest.raises(AlreadyExists):
        store.rename_experiment(other.id, "churn-v2")
    store.delete_experiment(exp.id)
    assert [e.name for e in store.list_experiments()] == ["other"]
    assert {e.name for e in store.list_experiments(include_deleted=True)} == {"churn-v2", "other"}
    with pytest.raises(Conflict, match="deleted"):
        store.create_run(exp.id, "late")
    store.restore_experiment(exp.id)
    assert {e.name for e in store.list_experiments()} == {"churn-v2", "other"}


def test_unknown_ids_are_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="no experiment"):
        store.get_experiment("nope")
    with pytest.raises(NotFound, match="no experiment named"):
        store.get_experiment_by_name("nope")
    with pytest.raises(NotFound, match="no run"):
        store.get_run("0" * 32)
    with pytest.raises(NotFound):
        store.log_batch("0" * 32, [MetricPoint("a", 1.0, 0, 0)])
    with pytest.raises(NotFound):
        store.get_metric_history("0" * 32, "a")


def test_run_lifecycle_and_nesting(store: Store) -> None:
    exp = store.create_experiment("e")
    parent = store.create_run(exp.id, "parent", user="ann", start_time=1000, tags={"k": "v"})
    assert parent.status == "RUNNING" and parent.tags == {"k": "v"} and parent.user == "ann"
    child = store.create_run(exp.id, "child", parent_run_id=parent.id)
    assert store.child_runs(parent.id) == [child.id]
    store.update_run(parent.id, status="FINISHED", end_time=4000)
    done = store.get_run(parent.id)
    assert done.status == "FINISHED" and done.duration_ms == 3000
    with pytest.raises(InvalidArgument, match="status"):
        store.update_run(parent.id, status="DONE")
    store.delete_runs([parent.id])
    assert store.get_run(child.id).lifecycle == "deleted"
    with pytest.raises(Conflict, match="deleted"):
        store.log_batch(child.id, params={"a": "1"})
    store.restore_runs([parent.id])
    assert store.get_run(child.id).lifecycle == "active"


def test_metrics_keep_history_and_latest_by_step(store: Store) -> None:
    run_id = _run(store)
    points = [
        MetricPoint("loss", 0.9, 0, 100),
        MetricPoint("loss", 0.5, 2, 101),
        MetricPoint("loss", 0.7, 1, 102),  # logged later, but an earlier step
        MetricPoint("acc", math.nan, 0, 100),
        MetricPoint("big", math.inf, 0, 100),
    ]
    store.log_batch(run_id, points)
    store.log_batch(run_id, [MetricPoint("loss", 0.6, 1, 200)])  # earlier step: not latest
    run = store.get_run(run_id)
    assert run.metrics["loss"] == 0.5
    assert math.isnan(run.metrics["acc"])
    assert run.metrics["big"] == math.inf
    history = store.get_metric_history(run_id, "loss")
    assert [(p.step, p.value) for p in history] == [(0, 0.9), (1, 0.7), (1, 0.6), (2, 0.5)]
    store.log_batch(run_id, [MetricPoint("loss", 0.4, 2, 300)])  # same step, newer: latest
    assert store.get_run(run_id).metrics["loss"] == 0.4


def test_experiment_keys_are_every_key_its_runs_use_and_no_other(store: Store) -> None:
    first, second = _run(store, "keys", "a"), _run(store, "keys", "b")
    store.log_batch(first, [MetricPoint("loss", 0.5, 0, 1)], params={"lr": "0.1"})
    store.log_batch(second, [MetricPoint("acc", 0.9, 0, 1)], params={"depth": "3"})
    store.log_batch(second, tags={"team": "a"})
    store.log_batch(_run(store, "other"), [MetricPoint("elsewhere", 1.0, 0, 1)])
    exp = store.get_experiment_by_name("keys")
    keys = store.experiment_keys(exp.id)
    assert keys["params"] == ["depth", "lr"] and keys["metrics"] == ["acc", "loss"]
    assert "team" in keys["tags"] and "elsewhere" not in keys["metrics"]
    assert store.experiment_keys(store.get_or_create_experiment("empty").id) == {
        "params": [],
        "metrics": [],
        "tags": [],
    }
    with pytest.raises(NotFound):
        store.experiment_keys("0" * 32)


def test_a_sampled_history_keeps_its_ends_and_extremes_in_at_most_max_points(
    store: Store,
) -> None:
    run_id = _run(store)
    values = [math.sin(step / 50) for step in range(3_000)]
    values[1_777], values[2_500], values[10] = 50.0, -50.0, math.nan
    logged = [MetricPoint("val.loss", v, s, 10_000 - s) for s, v in enumerate(values)]
    store.log_batch(run_id, logged)
    by_id = {(p.step, p.timestamp): p for p in logged}
    sample = store.sampled_metric_history(run_id, "val.loss", 200)
    assert sample.total == 3_000 and sample.sampled and 100 < len(sample.points) <= 200
    steps = [p.step for p in sample.points]
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == 2_999
    for point in sample.points:  # real points, as logged
        same = by_id[(point.step, point.timestamp)]
        assert point.value == same.value or math.isnan(same.value)
    assert {50.0, -50.0} <= {p.value for p in sample.points}
    by_time = store.sampled_metric_history(run_id, "val.loss", 200, axis="time")
    assert by_time.axis == "time" and len(by_time.points) <= 200
    times = [p.timestamp for p in by_time.points]
    assert times == sorted(times) and {50.0, -50.0} <= {p.value for p in by_time.points}
    whole = store.sampled_metric_history(run_id, "val.loss", 20_000)
    assert not whole.sampled and [p.step for p in whole.points] == list(range(3_000))
    assert math.isnan(whole.points[10].value)
    assert len(store.sampled_metric_history(run_id, "val.loss", 2).points) == 2
    assert store.sampled_metric_history(run_id, "never", 10).points == []
    for bad in (1, 20_001, "many"):
        with pytest.raises(InvalidArgument) as refused:
            store.sampled_metric_history(run_id, "val.loss", bad)  # type: ignore[arg-type]
        assert refused.value.field == "max_points"
    with pytest.raises(InvalidArgument) as refused:
        store.sampled_metric_history(run_id, "val.loss", 100, axis="epoch")
    assert refused.value.field == "axis"
    with pytest.raises(NotFound):
        store.sampled_metric_history("0" * 32, "val.loss")


def test_params_are_immutable_and_a_conflict_keeps_nothing(store: Store) -> None:
    run_id = _run(store)
    store.log_batch(run_id, params={"lr": "0.1", "depth": "3"})
    store.log_batch(run_id, params={"lr": "0.1"})  # same value again is fine
    with pytest.raises(InvalidArgument, match=r"'0\.1'.*'0\.2'") as info:
        store.log_batch(
            run_id, [MetricPoint("m", 1.0, 0, 1)], params={"lr": "0.2", "new": "x"}, tags={"t": "1"}
        )
    assert info.value.field == "lr"
    run = store.get_run(run_id)
    assert run.params == {"lr": "0.1", "depth": "3"}
    assert run.metrics == {} and run.tags == {}  # the whole batch rolled back


def test_tags_can_change_and_be_deleted(store: Store) -> None:
    run_id = _run(store)
    store.log_batch(run_id, tags={"stage": "dev"})
    store.log_batch(run_id, tags={"stage": "prod"})
    assert store.get_run(run_id).tags == {"stage": "prod"}
    store.delete_tag(run_id, "stage")
    assert store.get_run(run_id).tags == {}
    with pytest.raises(NotFound, match="no tag"):
        store.delete_tag(run_id, "stage")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": [MetricPoint("a/b", 1.0, 0, 0)]}, "path separator"),
        ({"metrics": [MetricPoint("x" * 251, 1.0, 0, 0)]}, "limit is 250"),
        ({"metrics": [MetricPoint("a", "high", 0, 0)]}, "must be numbers"),  # type: ignore[arg-type]
        ({"metrics": [MetricPoint("a", 1.0, 0, -5)]}, "timestamp"),
        ({"params": {"": "x"}}, "non-empty"),
        ({"params": {"p": "x" * 6001}}, "limit is 6000"),
        ({"tags": {"..": "x"}}, "not allowed"),
    ],
)
def test_bad_run_data_is_refused_with_a_clear_error(
    store: Store, kwargs: dict[str, object], message: str
) -> None:
    run_id = _run(store)
    with pytest.raises(InvalidArgument, match=message):
        store.log_batch(run_id, **kwargs)  # type: ignore[arg-type]
    run = store.get_run(run_id)
    assert run.metrics == {} and run.params == {} and run.tags == {}


def test_bad_names_are_refused(store: Store) -> None:
    with pytest.raises(InvalidArgument, match="non-empty"):
        store.create_experiment("  ")
    with pytest.raises(InvalidArgument, match="limit is 256"):
        store.create_experiment("e" * 300)


def test_artifacts_round_trip_files_and_folders(store: Store, tmp_path: Path) -> None:
    run_id = _run(store)
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("A")
    (folder / "sub" / "b.txt").write_text("B")
    single = tmp_path / "model.bin"
    single.write_bytes(b"weights")
    store.log_artifact(run_id, folder, "plots")
    store.log_artifact(run_id, single, "model/model.bin")
    listed = {a.path: a.size for a in store.list_artifacts(run_id)}
    assert listed == {"plots/a.txt": 1, "plots/sub/b.txt": 1, "model/model.bin": 7}
    assert [a.path for a in store.list_artifacts(run_id, "plots/sub")] == ["plots/sub/b.txt"]
    out = store.download_artifact(run_id, "plots", tmp_path / "out")
    assert (out / "sub" / "b.txt").read_text() == "B"
    copy = store.download_artifact(run_id, "model/model.bin", tmp_path / "m.bin")
    assert copy.read_bytes() == b"weights"
    with pytest.raises(NotFound):
        store.download_artifact(run_id, "missing.txt", tmp_path / "x")


@pytest.mark.parametrize("path", ["../escape.txt", "/abs.txt", "a/../../b", "a\\b", "C:/x", ""])
def test_artifact_paths_cannot_escape_the_run_tree(store: Store, tmp_path: Path, path: str) -> None:
    run_id = _run(store)
    source = tmp_path / "f.txt"
    source.write_text("x")
    with pytest.raises(InvalidArgument):
        store.log_artifact(run_id, source, path)
    assert store.list_artifacts(run_id) == []


def test_search_filters_orders_and_pages(store: Store) -> None:
    exp = store.create_experiment("search")
    for i in range(7):
        run_id = store.create_run(exp.id, f"r{i}", start_time=1000 + i).id
        store.log_batch(
            run_id,
            [MetricPoint("auc", i / 10, 0, 1)],
            params={"model": "rf" if i % 2 else "lr"},
            tags={"team": "a"},
        )
    page = store.search_runs(
        [exp.id], "metrics.auc > 0.05 and params.model = 'rf'", ["metrics.auc desc"], limit=2
    )
    assert [r.name for r in page.runs] == ["r5", "r3"]
    assert page.next_page_token is not None
    rest = store.search_runs(
        [exp.id],
        "metrics.auc > 0.05 and params.model = 'rf'",
        ["metrics.auc desc"],
        2,
        page.next_page_token,
    )
    assert [r.name for r in rest.runs] == ["r1"] and rest.next_page_token is None
    newest = store.search_runs([exp.id], limit=3)
    assert [r.name for r in newest.runs] == ["r6", "r5", "r4"]
    with pytest.raises(InvalidArgument, match="page_token"):
        store.search_runs([exp.id], "metrics.auc > 0.5", None, 2, page.next_page_token)
    with pytest.raises(InvalidArgument, match="limit"):
        store.search_runs([exp.id], limit=0)


def test_lineage_edges_walk_up_and_down_at_any_depth(store: Store) -> None:
    from shipyard.entities import LineageEdge, LineageNode

    data = LineageNode("dataset_version", "d1")
    other = LineageNode("dataset_version", "d2")
    run = LineageNode("run", "r1")
    model = LineageNode("model_version", "m1")
    served = LineageNode("deployment", "dep1")
    edges = [
        LineageEdge(data, run, "consumed"),
        LineageEdge(other, run, "consumed"),
        LineageEdge(run, model, "produced"),
        LineageEdge(model, served, "consumed"),
    ]
    store.add_lineage_edges(edges)
    store.add_lineage_edges(edges[:1])  # idempotent
    up = store.get_lineage(served, "up")
    assert {(e.src, e.dst) for e in up} == {(e.src, e.dst) for e in edges}
    assert len(up) == 4
    assert {e.src for e in store.get_lineage(served, "up", max_depth=2)} == {model, run}
    down = store.get_lineage(data, "down")
    assert [e.dst for e in down] == [run, model, served]
    assert store.get_lineage(LineageNode("run", "unknown"), "up") == []
    with pytest.raises(InvalidArgument, match="relation"):
        store.add_lineage_edges([LineageEdge(data, run, "ate")])
    with pytest.raises(InvalidArgument, match="direction"):
        store.get_lineage(data, "sideways")


def test_recreating_a_deleted_experiment_points_to_restore(store: Store) -> None:
    exp = store.create_experiment("old")
    store.delete_experiment(exp.id)
    with pytest.raises(AlreadyExists, match="deleted; restore it"):
        store.create_experiment("old")


def test_logging_a_folder_refuses_symlinks_that_lead_outside_it(
    store: Store, tmp_path: Path
) -> None:
    run_id = _run(store)
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    folder = tmp_path / "art"
    folder.mkdir()
    (folder / "ok.txt").write_text("ok")
    (folder / "leak.txt").symlink_to(secret)
    with pytest.raises(InvalidArgument, match="outside the folder"):
        store.log_artifact(run_id, folder, "art")
    assert store.list_artifacts(run_id) == []
    (folder / "leak.txt").unlink()
    (folder / "alias.txt").symlink_to(folder / "ok.txt")  # a link that stays inside is fine
    logged = store.log_artifact(run_id, folder, "art")
    assert {a.path for a in logged} == {"art/ok.txt", "art/alias.txt"}


def test_downloads_never_write_through_a_symlink_out_of_the_destination(
    store: Store, tmp_path: Path
) -> None:
    run_id = _run(store)
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("A")
    (folder / "sub" / "b.txt").write_text("B")
    store.log_artifact(run_id, folder, "plots")
    dest, outside = tmp_path / "dest", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    (dest / "sub").symlink_to(outside)
    with pytest.raises(InvalidArgument, match="symbolic link"):
        store.download_artifact(run_id, "plots", dest)
    assert list(outside.iterdir()) == [] and not (dest / "a.txt").exists()


def test_racing_get_or_create_makes_one_experiment(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: store.get_or_create_experiment("raced").id, range(16)))
    assert len(ids) == 1
    assert [e.name for e in store.list_experiments()] == ["raced"]
