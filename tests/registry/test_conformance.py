"""Conformance of the registry half of the Store protocol, on every backend (SQLite and
PostgreSQL): models, versions and their numbering, manifests, aliases, gates and the audit
history, and bad input that changes nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from shipyard.client import Store
from shipyard.client._util import upload_tree
from shipyard.entities import ArtifactInfo, LineageNode
from shipyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound


@pytest.fixture
def files(store: Store, tmp_path: Path) -> list[ArtifactInfo]:
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"weights")
    (folder / "sub" / "meta.json").write_text("{}")
    return upload_tree(store, folder)


def _version(store: Store, files: list[ArtifactInfo], name: str = "churn", **kw: object) -> int:
    return store.create_model_version(name, files, flavor="sklearn", **kw).version  # type: ignore[arg-type]


def test_upload_files_gives_a_relative_manifest(store: Store, files: list[ArtifactInfo]) -> None:
    assert [f.path for f in files] == ["model.bin", "sub/meta.json"]
    assert files[0].size == 7 and len(files[0].digest) == 64


def test_versions_number_per_model_and_keep_what_was_registered(
    store: Store, files: list[ArtifactInfo]
) -> None:
    exp = store.get_or_create_experiment("e")
    run = store.create_run(exp.id, "train")
    first = store.create_model_version(
        "churn",
        files,
        flavor="sklearn",
        source=f"runs:/{run.id}/model",
        run_id=run.id,
        signature={"inputs": {"type": "tensor", "dtype": "float64", "shape": [-1, 3]}},
        metrics={"auc": 0.91, "loss": float("nan")},
        requirements=["scikit-learn==1.5.0"],
        python_version="3.11.9",
        metadata={"format": "shipyard-state"},
        description="first",
        tags={"team": "growth"},
        created_by="ana",
    )
    assert (first.name, first.version, first.run_id, first.created_by) == (
        "churn",
        1,
        run.id,
        "ana",
    )
    assert first.metrics["auc"] == 0.91 and first.metrics["loss"] != first.metrics["loss"]
    assert first.files == files and len(first.manifest_digest) == 64
    assert first.signature == {"inputs": {"type": "tensor", "dtype": "float64", "shape": [-1, 3]}}
    assert first.tags == {"team": "growth"} and first.metadata == {"format": "shipyard-state"}
    assert _version(store, files) == 2
    assert _version(store, files, "other") == 1
    again = store.get_model_version("churn", 1)
    assert again.to_dict() == first.to_dict()  # (NaN != NaN, so compare the JSON forms)
    assert store.get_model_version_by_id(first.id).to_dict() == first.to_dict()
    with pytest.raises(NotFound, match="no model version has id"):
        store.get_model_version_by_id("f" * 32)
    assert [v.version for v in store.list_model_versions("churn")] == [2, 1]
    model = store.get_registered_model("churn")
    assert model.latest_version == 2 and model.owner == "ana"
    assert [m.name for m in store.list_registered_models()] == ["churn", "other"]
    assert [m.name for m in store.list_registered_models("OTH")] == ["other"]
    assert [m.name for m in store.list_registered_models(projects=["default"])] == [
        "churn",
        "other",
    ]
    assert store.list_registered_models(projects=["elsewhere"]) == []
    # the run produced the version: an edge of the lineage graph
    edges = store.get_lineage(LineageNode("model_version", first.id))
    assert [(e.src, e.relation) for e in edges] == [(LineageNode("run", run.id), "produced")]


def test_deleted_version_numbers_are_never_reused(store: Store, files: list[ArtifactInfo]) -> None:
    for _ in range(3):
        _version(store, files)
    store.delete_model_version("churn", 3)
    assert _version(store, files) == 4
    with pytest.raises(NotFound, match="no version 3"):
        store.get_model_version("churn", 3)


def test_descriptions_and_tags_change_but_files_never_do(
    store: Store, files: list[ArtifactInfo]
) -> None:
    store.create_registered_model("churn", "predicts churn", {"team": "growth"}, owner="ana")
    with pytest.raises(AlreadyExists):
        store.create_registered_model("churn")
    _version(store, files)
    updated = store.update_registered_model("churn", description="v2", tags={"tier": "1"})
    assert updated.description == "v2" and updated.tags == {"team": "growth", "tier": "1"}
    store.delete_registered_model_tag("churn", "team")
    with pytest.raises(NotFound):
        store.delete_registered_model_tag("churn", "team")
    mv = store.update_model_version("churn", 1, description="checked", tags={"qa": "ok"})
    assert mv.description == "checked" and mv.tags == {"qa": "ok"} and mv.files == files
    store.delete_model_version_tag("churn", 1, "qa")
    assert store.get_model_version("churn", 1).tags == {}


def test_aliases_move_in_one_step_and_every_move_is_audited(
    store: Store, files: list[ArtifactInfo]
) -> None:
    for auc in (0.8, 0.9):
        store.create_model_version("churn", files, flavor="sklearn", metrics={"auc": auc})
    first = store.set_model_alias("churn", "champion", 1, actor="ana", reason="baseline")
    assert (first.from_version, first.to_version, first.outcome) == (None, 1, "moved")
    moved = store.set_model_alias("churn", "champion", 2, actor="bo", reason="better")
    assert (moved.from_version, moved.to_version) == (1, 2)
    assert store.get_model_version_by_alias("churn", "champion").version == 2
    assert store.get_model_version_by_alias("churn", "latest").version == 2
    assert store.get_model_version("churn", 2).aliases == ["champion"]
    assert store.get_registered_model("churn").aliases == {"champion": 2}
    removed = store.delete_model_alias("churn", "champion", actor="ana", reason="incident")
    assert (removed.from_version, removed.to_version, removed.outcome) == (2, None, "deleted")
    history = store.list_alias_events("churn", "champion")
    assert [(e.actor, e.reason, e.outcome) for e in history] == [
        ("ana", "incident", "deleted"),
        ("bo", "better", "moved"),
        ("ana", "baseline", "moved"),
    ]
    with pytest.raises(NotFound, match="no alias 'champion'"):
        store.get_model_version_by_alias("churn", "champion")


def test_gates_decide_whether_the_alias_moves(store: Store, files: list[ArtifactInfo]) -> None:
    for auc in (0.90, 0.85, 0.95):
        store.create_model_version("churn", files, flavor="sklearn", metrics={"auc": auc})
    rules = ["metrics.auc >= champion.metrics.auc", "metrics.auc > 0.8"]
    first = store.set_model_alias("churn", "champion", 1, requires=rules)
    assert first.outcome == "moved" and first.passed
    assert "no champion yet" in first.gates[0].detail
    worse = store.set_model_alias("churn", "champion", 2, requires=rules, reason="try")
    assert worse.outcome == "rejected" and not worse.forced
    assert [g.passed for g in worse.gates] == [False, True]
    assert "0.85 < 0.9" in worse.gates[0].detail
    assert store.get_model_version_by_alias("churn", "champion").version == 1  # unchanged
    forced = store.set_model_alias("churn", "champion", 2, requires=rules, force=True)
    assert forced.outcome == "moved" and forced.forced
    assert store.get_model_version_by_alias("churn", "champion").version == 2
    dry = store.set_model_alias("churn", "champion", 3, requires=rules, dry_run=True)
    assert dry.passed and dry.id == 0
    assert store.get_model_version_by_alias("churn", "champion").version == 2
    outcomes = [(e.outcome, e.forced) for e in store.list_alias_events("churn")]
    assert outcomes == [("moved", True), ("rejected", False), ("moved", False)]  # no dry run


def test_bad_input_is_refused_and_changes_nothing(store: Store, files: list[ArtifactInfo]) -> None:
    _version(store, files)
    store.set_model_alias("churn", "champion", 1)
    before = (store.get_registered_model("churn"), store.list_alias_events("churn"))
    with pytest.raises(NotFound, match="no registered model named 'nope'"):
        store.get_model_version("nope", 1)
    with pytest.raises(NotFound, match="no version 7"):
        store.set_model_alias("churn", "champion", 7)
    with pytest.raises(InvalidArgument, match="alias 'Champ!on' is not allowed"):
        store.set_model_alias("churn", "Champ!on", 1)
    with pytest.raises(InvalidArgument, match="reserved"):
        store.set_model_alias("churn", "latest", 1)
    with pytest.raises(InvalidArgument, match="syntax error at position"):
        store.set_model_alias("churn", "champion", 1, requires=["metrics.auc >>> 1"])
    with pytest.raises(InvalidArgument, match="model name"):
        store.create_model_version("bad/name", files, flavor="sklearn")
    with pytest.raises(InvalidArgument, match="at least one file"):
        store.create_model_version("churn", [], flavor="sklearn")
    missing = [ArtifactInfo("x.bin", "0" * 64, 3)]
    with pytest.raises(InvalidArgument, match="not in the artifact store"):
        store.create_model_version("churn", missing, flavor="sklearn")
    with pytest.raises(NotFound, match="no run"):
        store.create_model_version("churn", files, flavor="sklearn", run_id="0" * 32)
    with pytest.raises(Conflict, match="@champion; move or delete that alias first"):
        store.delete_model_version("churn", 1)
    assert (store.get_registered_model("churn"), store.list_alias_events("churn")) == before
    assert [v.version for v in store.list_model_versions("churn")] == [1]


def test_deleting_a_model_removes_versions_aliases_and_lineage(
    store: Store, files: list[ArtifactInfo]
) -> None:
    exp = store.get_or_create_experiment("e")
    run = store.create_run(exp.id, "train")
    mv = store.create_model_version("churn", files, flavor="sklearn", run_id=run.id)
    store.set_model_alias("churn", "champion", 1)
    store.delete_registered_model("churn")
    with pytest.raises(NotFound):
        store.get_registered_model("churn")
    assert store.get_lineage(LineageNode("model_version", mv.id)) == []
    assert store.list_registered_models() == []
    assert store.create_model_version("churn", files, flavor="sklearn").version == 1  # fresh


def test_concurrent_registrations_get_distinct_consecutive_numbers(
    store: Store, files: list[ArtifactInfo]
) -> None:
    threads, per_thread = 4, 5
    numbers: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def register() -> None:
        try:
            for _ in range(per_thread):
                number = _version(store, files, "raced")
                with lock:
                    numbers.append(number)
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=register) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert sorted(numbers) == list(range(1, threads * per_thread + 1))
    assert store.get_registered_model("raced").latest_version == threads * per_thread


def test_version_metrics_can_be_recorded(store: Store, files: list[ArtifactInfo]) -> None:
    """Evaluation metrics recorded on a version merge into its snapshot (every backend)."""
    _version(store, files, metrics={"val_auc": 0.9})
    updated = store.update_model_version("churn", 1, metrics={"window_auc": 0.91})
    assert updated.metrics["window_auc"] == 0.91
    again = store.update_model_version("churn", 1, metrics={"window_auc": 0.8, "n": 3})
    assert again.metrics["window_auc"] == 0.8 and again.metrics["n"] == 3
    assert {k: again.metrics[k] for k in updated.metrics if k != "window_auc"} == {
        k: v for k, v in updated.metrics.items() if k != "window_auc"
    }
    with pytest.raises(InvalidArgument):
        store.update_model_version("churn", 1, metrics={"bad key!": 1.0})
    assert store.get_model_version("churn", 1).metrics == again.metrics
