"""`shipyard pipelines ...` and `shipyard scheduler` as a user types them."""

from __future__ import annotations

from pathlib import Path

from shipyard.tracking import Client
from tests.pipelines.steps import calls
from tests.support.cli import Cli

CHAIN = "tests.pipelines.steps:chain"


def test_run_runs_shows_and_lists(cli: Cli, sqlite_sdk: Client) -> None:
    out = cli.ok("pipelines", "run", CHAIN, "-p", "n=4", "-p", "factor=3")
    assert "FINISHED" in out and "(4 steps, 0 from cache)" in out
    out = cli.ok("pipelines", "run", "chain", "-p", "n=4", "-p", "factor=3")  # by name
    assert "(4 steps, 4 from cache)" in out and "(cached)" in out
    assert len(calls()) == 4
    [latest, first] = sqlite_sdk.store.list_pipeline_runs()
    assert first.params == {"n": 4, "factor": 3}
    listing = cli.ok("pipelines", "runs")
    assert first.id[:12] in listing and latest.id[:12] in listing
    shown = cli.ok("pipelines", "show", first.id[:8])
    assert "chain" in shown and "source FINISHED" in shown and "└── total FINISHED" in shown
    assert "n=4, factor=3" in shown
    listed = cli.ok("pipelines", "list")
    assert "chain" in listed and CHAIN in listed


def test_a_failed_run_exits_1_and_resume_finishes_it(cli: Cli, sqlite_sdk: Client) -> None:
    err = cli.errors("pipelines", "run", "tests.pipelines.steps:fragile")
    assert "error: step(s) failed: boom" in err and "shipyard pipelines resume" in err
    [failed] = sqlite_sdk.store.list_pipeline_runs()
    shown = cli.ok("pipelines", "show", failed.id)
    assert "boom FAILED" in shown and "after_boom SKIPPED" in shown
    assert "RuntimeError: boom" in shown
    assert "flag file is missing" in cli.ok("pipelines", "show", failed.id, "--logs", "boom")
    Path("fixed.flag").write_text("")
    out = cli.ok("pipelines", "resume", failed.id[:8])
    assert "FINISHED" in out and "(4 steps, 2 from cache)" in out
    assert "resumes" in cli.ok("pipelines", "runs", "--pipeline", "fragile")


def test_schedule_commands_and_bad_input(cli: Cli, sqlite_sdk: Client) -> None:
    out = cli.ok("pipelines", "schedule", CHAIN, "0 3 * * *", "-p", "n=2", "--overlap", "queue")
    assert "scheduled chain as chain" in out
    cli.ok("pipelines", "schedule", "chain", "*/5 * * * *", "--name", "often")
    table = cli.ok("pipelines", "schedules")
    assert "0 3 * * *" in table and "*/5 * * * *" in table and "queue" in table
    assert "not a valid cron expression" in cli.errors("pipelines", "schedule", CHAIN, "daily")
    cli.ok("pipelines", "unschedule", "often")
    assert "no schedule named 'often'" in cli.errors("pipelines", "unschedule", "often")
    once = cli.ok("scheduler", "--once")
    assert "started" not in once  # nothing due yet
    assert "scheduler: checking once" in once and "every" not in once
    assert "no pipeline named 'ghost'" in cli.errors("pipelines", "run", "ghost")
    assert "cannot import pipeline" in cli.errors("pipelines", "run", "nowhere:pipe")
    assert "has no parameter bogus" in cli.errors("pipelines", "run", CHAIN, "-p", "bogus=1")
    assert "must look like key=value" in cli.errors("pipelines", "run", CHAIN, "-p", "n")
    assert "no pipeline run" in cli.errors("pipelines", "show", "ffffffffff")
    assert "unknown executor" in cli.errors("pipelines", "run", CHAIN, "-x", "k8s")
