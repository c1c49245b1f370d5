"""Monitors end to end: the reference found through lineage, runs scoring the prediction log,
history, alerts once per incident (log and webhook, retries, recorded failure), gauges,
reports, the CLI, and bad input."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import shipyard
from shipyard.cli import app
from shipyard.errors import InvalidArgument, NotFound
from shipyard.monitoring import (
    DriftOptions,
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


class Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook_url():
    Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/alerts"
    server.shutdown()


def test_monitor_runs_alerts_once_per_incident_and_reports(
    train: Any,
    traffic: Any,
    sqlite_sdk: Client,
    hook_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    frozen_clock: Any,
) -> None:
    # 01:30 UTC: the hours of traffic below straddle midnight (this failed between 00:00 and
    # 03:00 UTC while rows were filed under the date they were written)
    now = frozen_clock.at_utc(2024, 3, 2, 1, 30)
    model = train(sqlite_sdk)
    create_monitor(
        "churn",
        "churn@champion",
        window="1h",
        schedule="*/15 * * * *",
        alerts=["share_drifted > 0.3", "auc < 0.6"],
        channels=[{"type": "webhook", "url": hook_url}, {"type": "log"}],
    )
    # hour 1: normal traffic
    traffic(sqlite_sdk, model, now - 3 * HOUR + 10, 0.0, seed=11)
    frozen_clock.advance(1_000)  # each run starts after the one before
    first = run_monitor("churn", now=now - 2 * HOUR)
    assert first.status == "ok" and first.model_version == 1
    assert first.result["reference_source"] == "customers@1"  # found through lineage
    assert first.result["metrics"]["share_drifted"] == 0 and Hook.received == []
    # hour 2 and 3: shifted traffic -> one incident, notified once
    for hour in (2, 1):
        logged, truth = traffic(sqlite_sdk, model, now - hour * HOUR + 10, 15.0, seed=hour + 11)
    frozen_clock.advance(1_000)
    second = run_monitor("churn", now=now - HOUR)
    frozen_clock.advance(1_000)
    third = run_monitor("churn", now=now)
    assert second.status == third.status == "ok"
    assert second.result["drift"]["drifted_columns"] == ["age"]
    assert second.result["alerts"]["share_drifted > 0.3"]["firing"]
    assert third.result["alerts"]["share_drifted > 0.3"]["firing"]
    assert [(h["event"], h["rule"]) for h in Hook.received] == [("firing", "share_drifted > 0.3")]
    assert "alert share_drifted > 0.3 firing" in caplog.text
    # labels arrive for the last hour: auc appears with its labelled count
    log_labels(logged["prediction_id"], truth, model="churn", check=True)
    frozen_clock.advance(1_000)
    fourth = run_monitor("churn", now=now)
    assert fourth.status == "ok", fourth.error
    assert fourth.result["metrics"]["labelled"] == 600 and "auc" in fourth.result["metrics"]
    # back to normal: resolved, notified once
    traffic(sqlite_sdk, model, now + 10, 0.0, seed=14)
    frozen_clock.advance(1_000)
    fifth = run_monitor("churn", now=now + HOUR)
    assert not fifth.result["alerts"]["share_drifted > 0.3"]["firing"]
    assert [h["event"] for h in Hook.received] == ["firing", "resolved"]
    assert Hook.received[1]["since"] == now - HOUR
    runs = monitor_history("churn")
    assert [r.id for r in runs] == [r.id for r in (fifth, fourth, third, second, first)]
    # gauges
    text = gauges_text(runs)
    assert 'shipyard_monitor_share_drifted{monitor="churn"} 0.0' in text
    assert 'shipyard_monitor_drift_statistic{column="age",monitor="churn",test="ks"}' in text
    # reports
    data = report_data("churn")
    assert len(data["history"]) == 5 and "age" in data["reference"]
    page = Path(write_report("churn", str(tmp_path / "r.html"))).read_text()
    assert "<svg" in page and "http" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "ks" in page and "Over time" in page


def test_unreachable_webhook_is_retried_and_recorded(
    train: Any, traffic: Any, sqlite_sdk: Client
) -> None:
    model = train(sqlite_sdk)
    now = int(time.time() * 1000)
    traffic(sqlite_sdk, model, now - 10, 15.0)
    channel = {"type": "webhook", "url": "http://127.0.0.1:9/hook", "retries": 2, "backoff": 0}
    create_monitor("m", "churn@champion", alerts=["share_drifted > 0.3"], channels=[channel])
    run = run_monitor("m", now=now)
    assert run.status == "ok"
    (note,) = run.result["notifications"]
    assert not note["ok"] and note["attempts"] == 3 and "Connect" in note["error"]


def test_bad_input_is_recorded_not_raised(
    write_predictions: Any, train: Any, sqlite_sdk: Client
) -> None:
    model = LogisticRegression().fit(np.array([[0.0], [1.0]]), [0, 1])
    shipyard.register_model(model, "bare")  # no dataset upstream
    create_monitor("bare", "bare@latest")
    run = run_monitor("bare")
    assert run.status == "failed" and "has no reference" in run.error
    train(sqlite_sdk)
    create_monitor("empty", "churn@champion")
    assert "no rows" in run_monitor("empty").error
    now = int(time.time() * 1000)
    write_predictions(
        sqlite_sdk.settings, "churn", pd.DataFrame({"age": [1.0]}), np.array([0.5]), ts=now - 5
    )
    create_monitor("narrow", "churn@champion")
    failed = run_monitor("narrow", now=now)
    assert failed.status == "failed" and "missing column(s) 'spend'" in failed.error
    with pytest.raises(InvalidArgument, match="not '<metric> <op> <number>'"):
        create_monitor("x", "churn@champion", alerts=["auc is low"])
    with pytest.raises(InvalidArgument, match="cron"):
        create_monitor("x", "churn@champion", schedule="every hour")
    with pytest.raises(InvalidArgument, match="http"):
        create_monitor("x", "churn@champion", channels=[{"type": "webhook", "url": "ftp://x"}])
    with pytest.raises(NotFound, match="no monitor named 'nope'"):
        run_monitor("nope")


def test_cli(train: Any, traffic: Any, sqlite_sdk: Client, tmp_path: Path) -> None:
    model = train(sqlite_sdk)
    traffic(sqlite_sdk, model, int(time.time() * 1000) - 10, 15.0)
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "monitor",
            "create",
            "churn",
            "--model",
            "churn@champion",
            "--window",
            "1h",
            "--schedule",
            "*/15 * * * *",
            "--alert",
            "share_drifted > 0.3",
            "--alert",
            "auc < 0.75",
        ],
    )
    assert made.exit_code == 0, made.output
    ran = runner.invoke(app, ["monitor", "run", "churn"])
    assert ran.exit_code == 0 and "share drifted" in ran.output and "FIRING" in ran.output
    hist = runner.invoke(app, ["monitor", "history", "churn"])
    assert hist.exit_code == 0 and "ok" in hist.output
    out = tmp_path / "r.html"
    assert runner.invoke(app, ["monitor", "report", "churn", "--output", str(out)]).exit_code == 0
    assert out.read_text().startswith("<!doctype html>")
    as_json = tmp_path / "r.json"
    runner.invoke(app, ["monitor", "report", "churn", "--output", str(as_json), "--json"])
    assert json.loads(as_json.read_text())["latest"]["status"] == "ok"
    page = out.read_text()
    printed = runner.invoke(app, ["monitor", "report", "churn", "--json"])
    assert printed.exit_code == 0 and json.loads(printed.stdout)["latest"]["status"] == "ok"
    refused = runner.invoke(app, ["monitor", "report", "churn", "-o", str(out), "--json"])
    assert refused.exit_code == 1 and f"--output '{out}'" in refused.output
    assert out.read_text() == page  # the HTML report is never replaced by JSON
    gauges = runner.invoke(app, ["monitor", "metrics"])
    assert "shipyard_monitor_alert_firing" in gauges.output
    bad = runner.invoke(app, ["monitor", "run", "nope"])
    assert bad.exit_code == 1 and "no monitor named 'nope'" in bad.output


def test_a_monitor_scores_with_every_drift_option_it_was_given(
    train: Any, traffic: Any, sqlite_sdk: Client, frozen_clock: Any
) -> None:
    now = frozen_clock.at_utc(2024, 3, 2, 12, 0)
    model = train(sqlite_sdk)
    create_monitor("default", "churn@champion")
    create_monitor("loose", "churn@champion", options=DriftOptions(share_threshold=0.99, seed=7))
    create_monitor("keywords", "churn@champion", share_threshold=0.99)
    traffic(sqlite_sdk, model, now - HOUR + 10, 15.0, seed=12)  # one column shifted
    frozen_clock.advance(1_000)
    verdicts = {}
    for name in ("default", "loose", "keywords"):
        run = run_monitor(name, now=now)
        assert run.status == "ok", run.error
        assert run.result["drift"]["drifted_columns"] == ["age"]
        verdicts[name] = run.result["drift"]["drifted"]
    # one drifted column of two reaches the default share of 0.5, not the monitors' 0.99
    assert verdicts == {"default": True, "loose": False, "keywords": False}


def test_bad_drift_options_for_a_monitor_are_refused_and_nothing_is_stored(
    train: Any, sqlite_sdk: Client
) -> None:
    train(sqlite_sdk)
    with pytest.raises(InvalidArgument) as caught:
        create_monitor("bad", "churn@champion", alpha=1.5)
    assert caught.value.field == "alpha"
    with pytest.raises(TypeError, match="share_treshold"):
        create_monitor("bad", "churn@champion", share_treshold=0.2)
    with pytest.raises(NotFound):
        monitor_history("bad")
