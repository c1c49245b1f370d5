"""Prediction and target drift in monitor runs (results, alert rules, gauges, reports), the
drift options of create_monitor and `shipyard monitor create`, and their bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import shipyard
from shipyard.cli import app
from shipyard.errors import InvalidArgument
from shipyard.monitoring import (
    create_monitor,
    gauges_text,
    log_labels,
    monitor_history,
    report_data,
    run_monitor,
    write_report,
)
from shipyard.tracking import Client

HOUR = 3_600_000


@pytest.fixture
def predicted_traffic(write_predictions: Any, customers: Any) -> Any:
    """Logs traffic as the server logs it: the model's own predictions (class labels)."""

    def log(
        client: Client, model: LogisticRegression, at: int, shift: float, n: int = 600
    ) -> tuple[pd.DataFrame, np.ndarray]:
        current = customers(n, int(shift) + 7, shift)
        outputs = model.predict(current[["age", "spend"]])
        logged = write_predictions(
            client.settings, "churn", current[["age", "spend"]], outputs, ts=at
        )
        return logged, current["churn"].to_numpy()

    return log


def test_prediction_and_target_drift_alert_gauge_and_report(
    predicted_traffic: Any,
    train: Any,
    sqlite_sdk: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = train(sqlite_sdk)
    now = int(time.time() * 1000)
    rules = ["prediction_drifted == 1", "prediction_drift.psi > 0.2", "target_drifted == 1"]
    create_monitor("churn", "churn@champion", alerts=rules, channels=[{"type": "log"}])
    logged, truth = predicted_traffic(sqlite_sdk, model, now - HOUR - 10, 0.0)
    log_labels(logged["prediction_id"], truth)
    calm = run_monitor("churn", now=now - HOUR)
    assert calm.status == "ok", calm.error
    assert calm.result["prediction_drift"]["kind"] == "categorical"  # class labels
    assert calm.result["metrics"]["prediction_drifted"] == 0
    assert calm.result["metrics"]["target_drifted"] == 0
    assert not any(s["firing"] for s in calm.result["alerts"].values())

    # older customers churn less: the model predicts churn less, and the truth shifts too
    logged, truth = predicted_traffic(sqlite_sdk, model, now - 10, 20.0)
    before_labels = run_monitor("churn", now=now)
    assert before_labels.result["metrics"]["prediction_drifted"] == 1
    assert before_labels.result["metrics"]["prediction_drift.psi"] > 0.2
    assert before_labels.result["target_drift"] == {
        "skipped": "no labels yet for the window's predictions"
    }
    firing = {r for r, s in before_labels.result["alerts"].items() if s["firing"]}
    assert firing == {"prediction_drifted == 1", "prediction_drift.psi > 0.2"}
    log_labels(logged["prediction_id"], truth)

    # the output reference was fitted once for version 1; later runs reuse it
    monkeypatch.setattr(
        "shipyard.monitoring._monitor.fit_outputs",
        lambda *a, **k: pytest.fail("the output reference was fitted twice"),
    )
    labelled = run_monitor("churn", now=now)
    target = labelled.result["target_drift"]
    assert target["drifted"] and target["n_current"] == 600
    assert labelled.result["metrics"]["target_drifted"] == 1
    assert {t["test"] for t in target["tests"]} >= {"chi2", "jensen_shannon", "psi"}
    assert labelled.result["alerts"]["target_drifted == 1"]["firing"]
    digest = shipyard.monitoring.load_reference(labelled.result["output_reference"]).columns
    assert set(digest) == {"prediction", "target"}

    text = gauges_text(monitor_history("churn", limit=1))
    assert 'shipyard_monitor_output_drifted{monitor="churn",output="prediction"} 1.0' in text
    assert (
        'shipyard_monitor_output_drift_statistic{monitor="churn",output="target",test="chi2"}'
        in text
    )
    data = report_data("churn")
    assert set(data["output_reference"]) == {"prediction", "target"}
    page = Path(write_report("churn", str(tmp_path / "r.html"))).read_text()
    assert "Prediction and target drift" in page and "Prediction and target tests" in page


def test_target_column_must_be_named_when_ambiguous(
    predicted_traffic: Any, customers: Any, sqlite_sdk: Client
) -> None:
    frame = customers(2_000, 0)
    frame["plan"] = np.where(frame["spend"] > 60, "pro", "basic")
    shipyard.data.register("wide", frame)
    with shipyard.start_run(experiment="churn"):
        data = shipyard.data.load("wide@latest")
        model = LogisticRegression().fit(data[["age", "spend"]], data["churn"])
        shipyard.register_model(model, "churn", input_example=data[["age", "spend"]].head())
    now = int(time.time() * 1000)
    logged, truth = predicted_traffic(sqlite_sdk, model, now - 10, 0.0)
    log_labels(logged["prediction_id"], truth)
    create_monitor("guess", "churn@latest")
    skipped = run_monitor("guess", now=now).result["target_drift"]["skipped"]
    assert "target='<label column>'" in skipped and "churn, plan" in skipped
    create_monitor("named", "churn@latest", target="churn")
    named = run_monitor("named", now=now)
    assert named.status == "ok" and not named.result["target_drift"]["drifted"]
    create_monitor("typo", "churn@latest", target="chrun")
    assert (
        "no target column 'chrun'" in run_monitor("typo", now=now).result["target_drift"]["skipped"]
    )


def test_drift_options_are_applied(predicted_traffic: Any, train: Any, sqlite_sdk: Client) -> None:
    model = train(sqlite_sdk)
    now = int(time.time() * 1000)
    predicted_traffic(sqlite_sdk, model, now - 10, 15.0)
    made = create_monitor(
        "custom",
        "churn@champion",
        tests={"age": ["psi"], "spend": ["ks", "wasserstein"]},
        thresholds={"psi": 0.25},
        alpha=0.01,
        importances={"age": 3.0, "spend": 1.0},
    )
    assert made.options["tests"] == {"age": ["psi"], "spend": ["ks", "wasserstein"]}
    run = run_monitor("custom", now=now)
    assert run.status == "ok", run.error
    columns = {c["column"]: c for c in run.result["drift"]["columns"]}
    assert [t["test"] for t in columns["age"]["tests"]] == ["psi", "missing_share"]
    assert columns["age"]["tests"][0]["threshold"] == 0.25
    assert [t["test"] for t in columns["spend"]["tests"]] == ["ks", "wasserstein", "missing_share"]
    assert run.result["drift"]["alpha"] == 0.01
    assert run.result["metrics"]["share_drifted"] == pytest.approx(0.75)  # age weighs 3 of 4
    # a threshold for one column wins over the common one, and the verdicts follow it
    create_monitor(
        "strict",
        "churn@champion",
        tests={"spend": ["wasserstein"]},
        thresholds={"wasserstein": 0.5, "spend.wasserstein": 0.001},
    )
    strict = run_monitor("strict", now=now)
    columns = {c["column"]: c for c in strict.result["drift"]["columns"]}
    assert columns["spend"]["tests"][0]["threshold"] == 0.001 and columns["spend"]["drifted"]
    assert columns["age"]["tests"][1] == {**columns["age"]["tests"][1], "threshold": 0.5}
    assert strict.result["metrics"]["share_drifted"] == 1.0
    create_monitor("narrow", "churn@champion", columns=["age"])
    narrow = run_monitor("narrow", now=now)
    assert [c["column"] for c in narrow.result["drift"]["columns"]] == ["age"]


def test_bad_drift_options_are_refused_and_nothing_is_stored(
    train: Any, sqlite_sdk: Client
) -> None:
    train(sqlite_sdk)
    cases = [
        ({"tests": {"age": ["bogus"]}}, r"unknown drift test 'bogus'.*valid tests: ks, "),
        ({"tests": {"agee": ["psi"]}}, r"tests name column 'agee'.*watched columns: age, spend"),
        ({"columns": ["age", "nope"]}, r"column 'nope' is not in the reference.*age, spend"),
        ({"thresholds": {"ks": 0.1}}, r"no threshold named 'ks'.*p-value tests use alpha"),
        ({"thresholds": {"psi": -1}}, "must be a positive number"),
        ({"alpha": 1.5}, "alpha must be between 0 and 1"),
        ({"importances": {"age": -1.0}}, "non-negative"),
        ({"importances": {"age": 0.0}}, "positive weight"),
        ({"columns": ["age"], "importances": {"spend": 1.0}}, "importances name column 'spend'"),
        ({"tests": {"age": []}}, "no drift test given for column 'age'"),
        ({"thresholds": {"agee.psi": 0.3}}, "thresholds name column 'agee'"),
        ({"thresholds": {"age.bogus": 0.3}}, "no threshold named 'bogus'"),
    ]
    for options, message in cases:
        with pytest.raises(InvalidArgument, match=message):
            create_monitor("bad", "churn@champion", **options)  # type: ignore[arg-type]
    # with an explicit reference the column kinds are known too
    with pytest.raises(InvalidArgument, match="test 'chi2' does not apply to numeric column 'age'"):
        create_monitor("bad", "churn@champion", reference="customers@1", tests={"age": ["chi2"]})
    assert sqlite_sdk.store.list_monitors() == []


def test_labels_for_unknown_predictions_are_counted_not_fatal(
    predicted_traffic: Any, train: Any, sqlite_sdk: Client
) -> None:
    model = train(sqlite_sdk)
    now = int(time.time() * 1000)
    predicted_traffic(sqlite_sdk, model, now - 10, 0.0)
    log_labels(["no-such-prediction"], [1])
    create_monitor("churn", "churn@champion")
    run = run_monitor("churn", now=now)
    assert run.status == "ok" and run.result["metrics"]["unmatched_labels"] == 1
    assert run.result["target_drift"] == {"skipped": "no labels yet for the window's predictions"}


def test_cli_drift_options(train: Any, sqlite_sdk: Client) -> None:
    train(sqlite_sdk)
    runner = CliRunner()
    base = ["monitor", "create", "churn", "--model", "churn@champion"]
    made = runner.invoke(
        app,
        [
            *base,
            "--drift",
            "age=psi,wasserstein",
            "--drift",
            "spend=ks",
            "--threshold",
            "psi=0.25",
            "--alpha",
            "0.01",
            "--columns",
            "age,spend",
            "--importance",
            "age=2",
            "--target",
            "churn",
        ],
    )
    assert made.exit_code == 0, made.output
    options = sqlite_sdk.store.get_monitor("churn").options
    assert options == {
        "alpha": 0.01,
        "columns": ["age", "spend"],
        "tests": {"age": ["psi", "wasserstein"], "spend": ["ks"]},
        "thresholds": {"psi": 0.25},
        "importances": {"age": 2.0},
        "target": "churn",
    }
    default = runner.invoke(app, [*base, "--drift", "default"])
    assert default.exit_code == 0 and "tests" not in sqlite_sdk.store.get_monitor("churn").options
    for args, message in (
        (["--drift", "age=bogus"], "unknown drift test 'bogus'"),
        (["--drift", "age"], "--drift 'age' must look like name=value"),
        (["--threshold", "psi=big"], "'big' is not a number"),
        (["--importance", "age"], "must look like name=value"),
    ):
        bad = runner.invoke(app, [*base, *args])
        assert bad.exit_code == 1 and message in bad.output, bad.output
    listed = json.dumps(sqlite_sdk.store.get_monitor("churn").options)
    assert "bogus" not in listed


def test_cli_run_shows_prediction_and_target_drift(
    predicted_traffic: Any, train: Any, sqlite_sdk: Client
) -> None:
    model = train(sqlite_sdk)
    logged, truth = predicted_traffic(sqlite_sdk, model, int(time.time() * 1000) - 10, 20.0)
    log_labels(logged["prediction_id"], truth)
    runner = CliRunner()
    made = runner.invoke(app, ["monitor", "create", "churn", "--model", "churn@champion"])
    assert made.exit_code == 0, made.output
    ran = runner.invoke(app, ["monitor", "run", "churn"], env={"COLUMNS": "200"})
    assert ran.exit_code == 0, ran.output
    rows = {line.split()[1]: line for line in ran.output.splitlines() if line.startswith("│")}
    assert "yes" in rows["prediction"] and "yes" in rows["target"] and "chi2=" in rows["target"]


def test_a_model_that_cannot_predict_leaves_only_prediction_drift_out(
    predicted_traffic: Any, train: Any, sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = train(sqlite_sdk)
    now = int(time.time() * 1000)
    logged, truth = predicted_traffic(sqlite_sdk, model, now - 10, 0.0)
    log_labels(logged["prediction_id"], truth)

    def broken(*args: object) -> None:
        raise RuntimeError("the model needs a GPU")

    monkeypatch.setattr("shipyard.monitoring._output_drift._predictions", broken)
    create_monitor("explicit", "churn@champion", reference="customers@1")
    run = run_monitor("explicit", now=now)
    assert run.status == "ok", run.error
    assert run.result["prediction_drift"] == {
        "skipped": "could not predict on the training data: the model needs a GPU"
    }
    assert "prediction_drifted" not in run.result["metrics"]
    assert run.result["target_drift"]["column"] == "target"  # from the explicit reference
