"""The module-level tracking API as a training script uses it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import shipyard
from shipyard.config import Settings
from shipyard.errors import Conflict, InvalidArgument
from shipyard.tracking import Client


def test_run_context_manager_records_params_metrics_tags_and_finishes(sdk: Client) -> None:
    with shipyard.start_run(experiment="churn", name="baseline", tags={"team": "growth"}) as run:
        shipyard.log_params({"model": "rf", "depth": 8})
        shipyard.log_param("lr", 0.1)
        for step in range(5):
            shipyard.log_metric("loss", 1 / (step + 1), step=step)
        shipyard.log_metrics({"auc": 0.91, "f1": 0.8})
        shipyard.set_tag("stage", "dev")
    stored = shipyard.get_run(run.id)
    assert stored.status == "FINISHED" and stored.end_time is not None
    assert stored.params == {"model": "rf", "depth": "8", "lr": "0.1"}
    assert stored.metrics == {"loss": 0.2, "auc": 0.91, "f1": 0.8}
    assert stored.tags["team"] == "growth" and stored.tags["stage"] == "dev"
    assert [p.step for p in shipyard.get_metric_history(run.id, "loss")] == [0, 1, 2, 3, 4]
    assert shipyard.active_run() is None


def test_exception_marks_failed_and_keeps_every_metric(sdk: Client) -> None:
    with pytest.raises(ZeroDivisionError), shipyard.start_run(experiment="e") as run:
        for i in range(100):
            shipyard.log_metric("m", i, step=i)
        1 / 0  # noqa: B018
    stored = shipyard.get_run(run.id)
    assert stored.status == "FAILED"
    assert len(shipyard.get_metric_history(run.id, "m")) == 100


def test_keyboard_interrupt_marks_killed(sdk: Client) -> None:
    with pytest.raises(KeyboardInterrupt), shipyard.start_run(experiment="e") as run:
        raise KeyboardInterrupt
    assert shipyard.get_run(run.id).status == "KILLED"


def test_nested_runs_inherit_the_experiment_and_point_to_the_parent(sdk: Client) -> None:
    with shipyard.start_run(experiment="sweep") as parent:
        with shipyard.start_run(name="child-1") as child:
            assert shipyard.active_run() is child
        assert shipyard.active_run() is parent
        with pytest.raises(Conflict, match="still active"):
            shipyard.start_run(nested=False)
    stored = shipyard.get_run(child.id)
    assert stored.parent_run_id == parent.id
    assert stored.experiment_id == parent.experiment_id
    parent_tags = shipyard.get_run(parent.id).tags
    for key in ("python", "host", "packages.sha256"):  # it ran where its parent ran
        assert stored.tags[f"shipyard.{key}"] == parent_tags[f"shipyard.{key}"]


def test_logging_without_an_active_run_says_what_to_do(sdk: Client) -> None:
    with pytest.raises(Conflict, match="no active run"):
        shipyard.log_metric("m", 1.0)


def test_param_relogged_with_another_value_names_both(sdk: Client) -> None:
    with shipyard.start_run(experiment="e"):
        shipyard.log_param("depth", 3)
        with pytest.raises(InvalidArgument, match=r"already '3'.*'4'"):
            shipyard.log_param("depth", 4)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("loss", "0.5", "must be numbers"),
        ("loss", None, "must be numbers"),
        ("loss", True, "must be numbers"),
        ("train/loss", 0.5, "path separator"),
        ("k" * 300, 0.5, "limit is 250"),
    ],
)
def test_bad_metrics_fail_at_the_call_even_when_buffered(
    sqlite_settings: Settings, key: str, value: object, message: str
) -> None:
    shipyard.configure(sqlite_settings)  # buffered (the default)
    try:
        with shipyard.start_run(experiment="e") as run:
            shipyard.log_metric("ok", 1.0)
            with pytest.raises(InvalidArgument, match=message):
                shipyard.log_metric(key, value)  # type: ignore[arg-type]
        assert shipyard.get_run(run.id).metrics == {"ok": 1.0}
    finally:
        shipyard.configure(sqlite_settings)


@pytest.mark.parametrize(
    ("log", "field"),
    [
        (lambda: shipyard.log_metric("loss", 0.5, step=2**70), "step"),
        (lambda: shipyard.log_metric("loss", 0.5, step=-(2**64)), "step"),
        (lambda: shipyard.log_metric("loss", 0.5, step=10**5000), "step"),
        (lambda: shipyard.log_metric("loss", 10**400), "value"),
        (lambda: shipyard.log_metric("loss", 0.5, timestamp=2**64), "timestamp"),
        (lambda: shipyard.log_metrics({"loss": 0.5}, step=2**70), "step"),
        (lambda: shipyard.log_metrics({"loss": 10**400, "acc": 0.9}), "value"),
        (lambda: shipyard.active_run().log_metrics({"loss": 0.5}, step=2**63), "step"),
    ],
)
def test_out_of_range_metrics_fail_at_the_call_and_every_good_point_is_kept(
    sqlite_settings: Settings, log: Callable[[], None], field: str
) -> None:
    shipyard.configure(sqlite_settings)  # buffered (the default)
    try:
        with shipyard.start_run(experiment="e") as run:
            for step in range(200):
                shipyard.log_metric("loss", 1 / (step + 1), step=step)
            with pytest.raises(InvalidArgument, match="'loss'") as caught:
                log()
            assert caught.value.field == field
        stored = shipyard.get_run(run.id)
        assert stored.status == "FINISHED" and "acc" not in stored.metrics
        assert len(shipyard.get_metric_history(run.id, "loss")) == 200
    finally:
        shipyard.configure(sqlite_settings)


@pytest.mark.parametrize(
    ("point", "message"),
    [
        (("loss", "0.5", 1), "must be numbers"),
        (("loss", 0.5, 1.5), "step must be an integer"),
        (("loss", 0.5, 1, -3), "non-negative integer of milliseconds"),
        (("train/loss", 0.5), "path separator"),
        (("loss",), "must be a MetricPoint or a tuple"),
        ("loss=0.5", "must be a MetricPoint or a tuple"),
    ],
)
def test_log_batch_takes_tuples_and_a_bad_point_stores_nothing(
    sdk: Client, point: object, message: str
) -> None:
    with shipyard.start_run(experiment="e") as run:
        sdk.log_batch(run.id, [("loss", 0.9), ("loss", 0.5, 2), ("acc", 0.7, 2, 1_000)])
        with pytest.raises(InvalidArgument, match=message):
            sdk.log_batch(run.id, [("loss", 0.1, 3), point], params={"p": 1})  # type: ignore[list-item]
    stored = shipyard.get_run(run.id)
    assert stored.metrics == {"loss": 0.5, "acc": 0.7} and stored.params == {}
    assert [(p.value, p.step) for p in sdk.get_metric_history(run.id, "loss")] == [
        (0.9, 0),
        (0.5, 2),
    ]
    assert sdk.get_metric_history(run.id, "acc")[0].timestamp == 1_000


def test_buffered_metrics_are_flushed_on_end(sqlite_settings: Settings) -> None:
    client = shipyard.configure(sqlite_settings)
    assert not client.settings.sync_logging
    with shipyard.start_run(experiment="e") as run:
        for i in range(10_000):
            shipyard.log_metric("x", i, step=i)
    assert client.buffer.pending == 0
    assert len(shipyard.get_metric_history(run.id, "x")) == 10_000
    assert shipyard.get_run(run.id).metrics["x"] == 9999


def test_system_facts_are_captured(sdk: Client, tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], check=True)
    (tmp_path / "train.py").write_text("print(1)\n")
    subprocess.run(["git", "add", "train.py"], check=True)
    subprocess.run(
        ["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "init"], check=True
    )
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    with shipyard.start_run(experiment="e") as clean, shipyard.start_run(name="fold") as fold:
        pass
    (tmp_path / "train.py").write_text("print(2)\n")
    with shipyard.start_run(experiment="e") as dirty:
        pass
    tags = shipyard.get_run(clean.id).tags
    assert tags["shipyard.git.commit"] == commit
    assert shipyard.get_run(fold.id).tags["shipyard.git.commit"] == commit  # nested runs too
    assert tags["shipyard.git.dirty"] == "false"
    assert shipyard.get_run(dirty.id).tags["shipyard.git.dirty"] == "true"
    for key in ("python", "host", "user", "packages.sha256", "platform"):
        assert tags[f"shipyard.{key}"]
    run = shipyard.get_run(clean.id)
    assert run.duration_ms is not None and run.duration_ms >= 0


def test_each_run_records_its_package_set_readable_by_its_digest(sdk: Client) -> None:
    from shipyard.entities import PACKAGE_SET_TAG
    from shipyard.tracking import package_set, packages_hash, recorded_package_set

    with shipyard.start_run(experiment="e") as first:
        pass
    with shipyard.start_run(experiment="e") as second:
        pass
    digest = shipyard.get_run(first.id).tags[PACKAGE_SET_TAG]
    assert digest == packages_hash()[0] == shipyard.get_run(second.id).tags[PACKAGE_SET_TAG]
    packages = recorded_package_set(sdk.store, digest)  # through the server too
    assert packages == list(package_set())
    assert any(p.startswith("shipyard==") for p in packages)
    assert recorded_package_set(sdk.store, "0" * 64) is None  # a run of before: hash only


def test_runs_of_one_environment_share_one_stored_package_set(sqlite_sdk: Client) -> None:
    blobs = sqlite_sdk.settings.home / "blobs"
    before = {p for p in blobs.rglob("*") if p.is_file()} if blobs.exists() else set()
    for _ in range(20):
        with shipyard.start_run(experiment="e"):
            pass
    assert len({p for p in blobs.rglob("*") if p.is_file()} - before) == 1


def test_log_artifact_objects_and_files(sdk: Client, tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    source = tmp_path / "notes.md"
    source.write_text("# notes")
    with shipyard.start_run(experiment="e") as run:
        shipyard.log_artifact({"threshold": 0.5}, name="config")
        shipyard.log_artifact(frame, name="data/sample")
        shipyard.log_artifact("plain text", name="readme.txt")
        shipyard.log_artifact(source)
        with pytest.raises(InvalidArgument, match="cannot log a object"):
            shipyard.log_artifact(object(), name="thing")
        with pytest.raises(InvalidArgument, match="no such file"):
            shipyard.log_artifact(tmp_path / "missing.bin")
    paths = {a.path for a in sdk.store.list_artifacts(run.id)}
    assert paths == {"config.json", "data/sample.parquet", "readme.txt", "notes.md"}
    out = shipyard.download_artifact(run.id, "config.json", tmp_path / "c.json")
    assert json.loads(out.read_text()) == {"threshold": 0.5}
    back = pd.read_parquet(
        shipyard.download_artifact(run.id, "data", tmp_path / "d") / "sample.parquet"
    )
    pd.testing.assert_frame_equal(back, frame)


def test_log_matplotlib_figure_as_png(sdk: Client) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    with shipyard.start_run(experiment="e") as run:
        info = shipyard.log_artifact(fig, name="plots/curve")
    plt.close(fig)
    assert info[0].path == "plots/curve.png"
    assert sdk.store.list_artifacts(run.id)[0].size > 1000


def test_search_runs_returns_a_frame_with_prefixed_columns(sdk: Client) -> None:
    for depth, auc in ((3, 0.8), (5, 0.9), (8, 0.95)):
        with shipyard.start_run(experiment="grid"):
            shipyard.log_params({"depth": depth, "model": "rf"})
            shipyard.log_metric("auc", auc)
    frame = shipyard.search_runs(
        "grid",
        filter="metrics.auc > 0.85 and params.model = 'rf' and status = 'FINISHED'",
        order_by=["metrics.auc desc"],
    )
    assert list(frame["params.depth"]) == ["8", "5"]
    assert list(frame["metrics.auc"]) == [0.95, 0.9]
    assert {"run_id", "status", "start_time", "duration_s", "tags.shipyard.python"} <= set(
        frame.columns
    )
    assert frame.attrs["next_page_token"] is None
    page = shipyard.search_runs("grid", limit=2, output="runs")
    assert len(page.runs) == 2 and page.next_page_token


def test_unended_runs_are_finished_and_flushed_at_interpreter_exit(tmp_path: Path) -> None:
    script = (
        "import shipyard\n"
        "run = shipyard.start_run(experiment='e')\n"
        "for i in range(500): shipyard.log_metric('m', i, step=i)\n"
        "print(run.id)\n"
    )
    crash = script + "1 / 0\n"
    ok = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    bad = subprocess.run([sys.executable, "-c", crash], capture_output=True, text=True)
    assert bad.returncode != 0
    client = shipyard.configure()
    try:
        good_run = client.get_run(ok.stdout.strip())
        crashed = client.get_run(bad.stdout.strip())
        assert good_run.status == "FINISHED" and crashed.status == "FAILED"
        assert len(client.get_metric_history(good_run.id, "m")) == 500
        assert len(client.get_metric_history(crashed.id, "m")) == 500
    finally:
        shipyard.tracking._fluent._default = None
