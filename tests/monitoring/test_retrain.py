"""The retraining policy: an alert fires, the pipeline retrains on the newest data, the
candidate and the champion are scored on the same labelled window, and the registry's gate
decides; every step recorded in the run and in lineage."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import shipyard
from shipyard import data
from shipyard.cli import app
from shipyard.client import Store
from shipyard.entities import LineageNode
from shipyard.errors import InvalidArgument, NotFound
from shipyard.monitoring import (
    RetrainPolicy,
    create_monitor,
    get_retrain_policy,
    holdout_mask,
    log_labels,
    remove_retrain_policy,
    run_monitor,
    set_retrain_policy,
)
from shipyard.pipelines import pipeline, step
from shipyard.registry import alias_history, resolve
from shipyard.tracking import Client

MINUTE = 60_000
PIPELINE = "tests.monitoring.test_retrain:retraining"
FEATURES = ["x1", "x2"]


def patients(n: int, seed: int, offset: float = 0.0) -> pd.DataFrame:
    """``label`` is ``x1 > 0`` on the true scale; a recalibrated instrument reads
    ``x1 + offset``."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 1, n)
    return pd.DataFrame(
        {"x1": x1 + offset, "x2": rng.normal(0, 1, n), "label": (x1 > 0).astype("int64")}
    )


@step
def fit(frame: pd.DataFrame, mode: str) -> int:
    """Train on the dataset; ``worse`` shuffles the labels, ``fail`` raises."""
    if mode == "fail":
        raise ValueError("the training data is broken")
    labels = frame["label"].to_numpy()
    if mode == "worse":
        labels = np.random.default_rng(0).permutation(labels)
    with shipyard.start_run(experiment="retrain"):
        model = LogisticRegression().fit(frame[FEATURES], labels)
        version = shipyard.register_model(model, "churn", input_example=frame[FEATURES].head())
    return version.version


@pipeline(name="retrain-test")
def retraining(mode: str = "better") -> None:
    fit(data.ref("patients@latest"), mode=mode)


@pytest.fixture
def champion_and_shifted_window(write_predictions: Any) -> Any:
    """Sets up champion v1 trained on the old instrument; a monitor with an accuracy alert and
    the policy; 600 shifted predictions logged and labelled; the shifted rows as the newest
    dataset version. The function returns the time the monitor runs at and the logged rows."""

    def setup(client: Client, mode: str = "better", **policy: Any) -> tuple[int, pd.DataFrame]:
        data.register("patients", patients(2_000, 0))
        with shipyard.start_run(experiment="retrain"):
            frame = data.load("patients@latest")
            model = LogisticRegression().fit(frame[FEATURES], frame["label"])
            version = shipyard.register_model(model, "churn", input_example=frame[FEATURES].head())
        shipyard.set_alias("churn", "champion", version.version)
        create_monitor("churn", "churn@champion", window="10m", alerts=["accuracy < 0.9"])
        options = {"params": {"mode": mode}, "metric": "accuracy", "min_labelled": 100, **policy}
        set_retrain_policy("churn", PIPELINE, **options)
        now = int(time.time() * 1000)
        shifted = patients(600, 1, offset=1.0)
        scores = model.predict_proba(shifted[FEATURES])[:, 1]
        logged = write_predictions(
            client.settings, "churn", shifted[FEATURES], scores, ts=now - MINUTE
        )
        log_labels(logged["prediction_id"], shifted["label"].tolist())
        data.register("patients", shifted)
        return now, logged

    return setup


def test_a_better_candidate_is_promoted_with_lineage_end_to_end(
    champion_and_shifted_window: Any, sdk: Client
) -> None:
    now, _ = champion_and_shifted_window(sdk)
    run = run_monitor("churn", now=now)
    assert run.status == "ok", run.error
    assert run.result["metrics"]["accuracy"] < 0.9
    retrain = run.result["retrain"]
    assert retrain["outcome"] == "promoted", retrain
    assert retrain["trigger"] == ["accuracy < 0.9"] and retrain["labelled"] == 600
    assert retrain["candidate"] == 2 and retrain["champion"] == 1
    assert retrain["candidate_score"] > retrain["champion_score"] + 0.1
    champion = resolve("churn@champion")
    assert champion.version == 2
    # the window metrics are on both versions; the gate compared them
    assert champion.metrics["window_accuracy"] == retrain["candidate_score"]
    assert resolve("churn/1").metrics["window_accuracy"] == retrain["champion_score"]
    event = alias_history("churn", "champion")[0]
    assert event.id == retrain["event"] and event.outcome == "moved"
    assert event.gates[0].rule.startswith("metrics.window_accuracy > champion.metrics")
    # lineage: monitor run -> pipeline run -> model version -> promotion
    store = sdk.store
    down = store.get_lineage(LineageNode("monitor_run", run.id), "down")
    reached = {(e.dst.kind, e.dst.id) for e in down}
    assert ("pipeline_run", retrain["pipeline_run"]) in reached
    assert ("model_version", champion.id) in reached
    assert ("alias_event", str(event.id)) in reached
    up = store.get_lineage(LineageNode("alias_event", str(event.id)), "up")
    assert {e.src.kind for e in up} >= {"model_version", "pipeline_run", "monitor_run"}
    # the alert holds on the next run: no second retraining
    again = run_monitor("churn", now=now + MINUTE)
    assert "retrain" not in again.result


def test_a_worse_candidate_is_not_promoted_and_the_reason_is_recorded(
    champion_and_shifted_window: Any,
    sqlite_sdk: Client,
) -> None:
    now, _ = champion_and_shifted_window(sqlite_sdk, mode="worse")
    retrain = run_monitor("churn", now=now).result["retrain"]
    assert retrain["outcome"] == "rejected"
    assert retrain["candidate"] == 2 and retrain["candidate_score"] < retrain["champion_score"]
    assert "did not beat @champion" in retrain["reason"]
    assert "metrics.window_accuracy" in retrain["reason"]
    assert resolve("churn@champion").version == 1
    event = alias_history("churn", "champion")[0]
    assert event.outcome == "rejected" and event.id == retrain["event"]


def test_a_holdout_compares_only_the_held_out_predictions(
    champion_and_shifted_window: Any, sqlite_sdk: Client
) -> None:
    now, logged = champion_and_shifted_window(sqlite_sdk, holdout=0.5)
    held = holdout_mask(logged["prediction_id"], 0.5)
    assert 0.4 < held.mean() < 0.6  # about the share asked for
    assert (holdout_mask(logged["prediction_id"].tolist(), 0.5) == held).all()  # fixed per id
    assert not holdout_mask(logged["prediction_id"], 0.0).any()
    retrain = run_monitor("churn", now=now).result["retrain"]
    assert retrain["outcome"] == "promoted" and retrain["labelled"] == int(held.sum())
    assert resolve("churn/2").metrics["window_labelled"] == int(held.sum())


def test_too_few_labels_skips_without_training(
    champion_and_shifted_window: Any, sqlite_sdk: Client
) -> None:
    now, _ = champion_and_shifted_window(sqlite_sdk, min_labelled=1_000)
    retrain = run_monitor("churn", now=now).result["retrain"]
    assert retrain["outcome"] == "skipped" and retrain["labelled"] == 600
    assert "only 600 labelled rows" in retrain["reason"] and "1000" in retrain["reason"]
    assert "pipeline_run" not in retrain
    assert [v.version for v in sqlite_sdk.store.list_model_versions("churn")] == [1]


def test_a_failing_pipeline_is_recorded_and_the_run_goes_on(
    champion_and_shifted_window: Any, sqlite_sdk: Client
) -> None:
    now, _ = champion_and_shifted_window(sqlite_sdk, mode="fail")
    run = run_monitor("churn", now=now)
    assert run.status == "ok" and run.result["alerts"]["accuracy < 0.9"]["firing"]
    retrain = run.result["retrain"]
    assert retrain["outcome"] == "failed" and retrain["pipeline_run"]
    assert "the training data is broken" in retrain["reason"]
    assert resolve("churn@champion").version == 1
    assert monitor_retrains(sqlite_sdk.store) == ["failed"]


def monitor_retrains(store: Store) -> list[str]:
    runs = store.list_monitor_runs("churn")
    return [r.result["retrain"]["outcome"] for r in runs if "retrain" in r.result]


def test_a_pipeline_that_cannot_be_imported_is_recorded(
    champion_and_shifted_window: Any, sqlite_sdk: Client
) -> None:
    now, _ = champion_and_shifted_window(sqlite_sdk)
    set_retrain_policy("churn", "tests.nowhere:retraining", metric="accuracy")
    run = run_monitor("churn", now=now)
    assert run.status == "ok"
    retrain = run.result["retrain"]
    assert retrain["outcome"] == "failed" and "cannot import pipeline" in retrain["reason"]


def test_the_cooldown_is_respected(
    champion_and_shifted_window: Any, write_predictions: Any, sqlite_sdk: Client
) -> None:
    now, _ = champion_and_shifted_window(sqlite_sdk, mode="worse", cooldown="1h")
    assert run_monitor("churn", now=now).result["retrain"]["outcome"] == "rejected"
    # the alert resolves (good predictions, labelled), then fires again 30 minutes later
    for at, wrong in ((now + 12 * MINUTE, False), (now + 25 * MINUTE, True)):
        rows = patients(200, int(at % 1000))
        outputs = 1 - rows["label"] if wrong else rows["label"]
        logged = write_predictions(
            sqlite_sdk.settings, "churn", rows[FEATURES], outputs.to_numpy(), ts=at
        )
        log_labels(logged["prediction_id"], rows["label"].tolist())
        run = run_monitor("churn", now=at + 5 * MINUTE)
        assert run.result["alerts"]["accuracy < 0.9"]["firing"] is wrong
    retrain = run.result["retrain"]
    assert retrain["outcome"] == "skipped" and retrain["reason"].startswith("cooldown")
    assert "pipeline_run" not in retrain
    assert len(sqlite_sdk.store.list_model_versions("churn")) == 2


def test_policy_bad_input_is_refused_and_nothing_changes(
    champion_and_shifted_window: Any, sqlite_sdk: Client
) -> None:
    champion_and_shifted_window(sqlite_sdk)
    before = get_retrain_policy("churn")
    assert isinstance(before, RetrainPolicy) and before.metric == "accuracy"
    for kwargs, word in (
        ({"metric": "bogus"}, "metric"),
        ({"direction": "up"}, "direction"),
        ({"min_labelled": 0}, "min_labelled"),
        ({"margin": -1}, "margin"),
        ({"holdout": 1.0}, "holdout"),
        ({"cooldown": "soon"}, "cooldown"),
        ({"on": ["auc < 0.5"]}, "no alert"),
    ):
        with pytest.raises(InvalidArgument, match=word):
            set_retrain_policy("churn", PIPELINE, **kwargs)
    with pytest.raises(InvalidArgument, match="pipeline"):
        set_retrain_policy("churn", " ")
    with pytest.raises(NotFound):
        set_retrain_policy("nope", PIPELINE)
    assert get_retrain_policy("churn") == before
    assert before.gate("champion") == (
        "metrics.window_accuracy > champion.metrics.window_accuracy + 0.0"
    )
    assert RetrainPolicy("p:q", metric="rmse", margin=0.5).gate("prod") == (
        "metrics.window_rmse < prod.metrics.window_rmse - 0.5"
    )
    remove_retrain_policy("churn")
    assert get_retrain_policy("churn") is None


def test_retrain_policy_cli(champion_and_shifted_window: Any, sqlite_sdk: Client) -> None:
    champion_and_shifted_window(sqlite_sdk)
    runner = CliRunner()
    shown = runner.invoke(app, ["monitor", "retrain-policy", "churn"])
    assert shown.exit_code == 0, shown.output
    assert PIPELINE in shown.output and "accuracy" in shown.output
    changed = runner.invoke(
        app,
        [
            *["monitor", "retrain-policy", "churn", "--pipeline", PIPELINE, "-p", "mode=worse"],
            *["--metric", "f1", "--margin", "0.01", "--cooldown", "2h"],
        ],
    )
    assert changed.exit_code == 0, changed.output
    policy = get_retrain_policy("churn")
    assert policy is not None and policy.params == {"mode": "worse"}
    assert (policy.metric, policy.margin, policy.cooldown) == ("f1", 0.01, "2h")
    bad = runner.invoke(
        app, ["monitor", "retrain-policy", "churn", "--pipeline", PIPELINE, "--metric", "x"]
    )
    assert bad.exit_code == 1 and "error:" in bad.output
    assert get_retrain_policy("churn") == policy
    removed = runner.invoke(app, ["monitor", "retrain-policy", "churn", "--remove"])
    assert removed.exit_code == 0 and get_retrain_policy("churn") is None
