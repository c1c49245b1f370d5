"""`shipyard pipelines ...` and `shipyard scheduler` as a user types them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shipyard.cli import _render, app
from shipyard.tracking import Client
from tests._pipeline_steps import calls

runner = CliRunner(env={"COLUMNS": "200"})
CHAIN = "tests._pipeline_steps:chain"


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_render.console, "_width", 200)


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def fails(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.stderr


def test_run_runs_shows_and_lists(sqlite_sdk: Client) -> None:
    out = ok("pipelines", "run", CHAIN, "-p", "n=4", "-p", "factor=3")
    assert "FINISHED" in out and "(4 steps, 0 from cache)" in out
    out = ok("pipelines", "run", "chain", "-p", "n=4", "-p", "factor=3")  # by name
    assert "(4 steps, 4 from cache)" in out and "(cached)" in out
    assert len(calls()) == 4
    [latest, first] = sqlite_sdk.store.list_pipeline_runs()
    assert first.params == {"n": 4, "factor": 3}
    listing = ok("pipelines", "runs")
    assert first.id[:12] in listing and latest.id[:12] in listing
    shown = ok("pipelines", "show", first.id[:8])
    assert "chain" in shown and "source FINISHED" in shown and "└── total FINISHED" in shown
    assert "n=4, factor=3" in shown
    listed = ok("pipelines", "list")
    assert "chain" in listed and CHAIN in listed


def test_a_failed_run_exits_1_and_resume_finishes_it(sqlite_sdk: Client) -> None:
    err = fails("pipelines", "run", "tests._pipeline_steps:fragile")
    assert "error: step(s) failed: boom" in err and "shipyard pipelines resume" in err
    [failed] = sqlite_sdk.store.list_pipeline_runs()
    shown = ok("pipelines", "show", failed.id)
    assert "boom FAILED" in shown and "after_boom SKIPPED" in shown
    assert "RuntimeError: boom" in shown
    assert "flag file is missing" in ok("pipelines", "show", failed.id, "--logs", "boom")
    Path("fixed.flag").write_text("")
    out = ok("pipelines", "resume", failed.id[:8])
    assert "FINISHED" in out and "(4 steps, 2 from cache)" in out
    assert "resumes" in ok("pipelines", "runs", "--pipeline", "fragile")


def test_schedule_commands_and_bad_input(sqlite_sdk: Client) -> None:
    out = ok("pipelines", "schedule", CHAIN, "0 3 * * *", "-p", "n=2", "--overlap", "queue")
    assert "scheduled chain as chain" in out
    ok("pipelines", "schedule", "chain", "*/5 * * * *", "--name", "often")
    table = ok("pipelines", "schedules")
    assert "0 3 * * *" in table and "*/5 * * * *" in table and "queue" in table
    assert "not a valid cron expression" in fails("pipelines", "schedule", CHAIN, "daily")
    ok("pipelines", "unschedule", "often")
    assert "no schedule named 'often'" in fails("pipelines", "unschedule", "often")
    assert "started" not in ok("scheduler", "--once")  # nothing due yet
    assert "no pipeline named 'ghost'" in fails("pipelines", "run", "ghost")
    assert "cannot import pipeline" in fails("pipelines", "run", "nowhere:pipe")
    assert "has no parameter bogus" in fails("pipelines", "run", CHAIN, "-p", "bogus=1")
    assert "must look like key=value" in fails("pipelines", "run", CHAIN, "-p", "n")
    assert "no pipeline run" in fails("pipelines", "show", "ffffffffff")
    assert "unknown executor" in fails("pipelines", "run", CHAIN, "-x", "k8s")
