"""Listing commands print a table for people, JSON or CSV for programs, and output that is
not a terminal is complete (not cut at 80 columns)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Callable

import pytest

import shipyard
from shipyard.tracking import Client
from tests.support.cli import Cli

Shell = Callable[..., subprocess.CompletedProcess[str]]


def _two_runs(sdk: Client) -> list[str]:
    ids = []
    for auc in (0.81, 0.93):
        with shipyard.start_run(experiment="churn", name=f"rf-{auc}") as run:
            shipyard.log_metric("auc", auc)
            ids.append(run.id)
    return ids


def test_runs_list_as_json_has_full_ids_and_raw_metrics(cli: Cli, sqlite_sdk: Client) -> None:
    ids = _two_runs(sqlite_sdk)
    records = json.loads(cli.ok("runs", "list", "--format", "json"))
    assert {r["run id"] for r in records} == set(ids)
    assert sorted(r["auc"] for r in records) == [0.81, 0.93]
    assert {r["status"] for r in records} == {"FINISHED"}


def test_runs_search_as_csv_is_a_header_and_one_row_per_run(cli: Cli, sqlite_sdk: Client) -> None:
    ids = _two_runs(sqlite_sdk)
    out = cli.ok("runs", "search", "metrics.auc > 0.9", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["run id"], r["name"], r["auc"]) for r in rows] == [(ids[1], "rf-0.93", "0.93")]


@pytest.mark.parametrize(
    "command",
    [
        ("experiments", "list"),
        ("models", "list"),
        ("models", "versions", "churn"),
        ("data", "list"),
        ("pipelines", "list"),
        ("pipelines", "runs"),
        ("pipelines", "schedules"),
        ("users", "list"),
        ("tokens", "list"),
        ("audit",),
    ],
    ids=" ".join,
)
def test_every_listing_command_takes_format_json(
    cli: Cli, sqlite_sdk: Client, command: tuple[str, ...]
) -> None:
    sqlite_sdk.store.create_experiment("churn", "monthly churn")
    result = cli.invoke(*command, "--format", "json")
    if result.exit_code == 1:  # the listing itself may refuse (an unknown model)
        assert "error:" in result.stderr
        return
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.stdout), list)


def test_experiments_as_json_and_csv_keep_the_whole_description(
    cli: Cli, sqlite_sdk: Client
) -> None:
    text = "a description of well over eighty characters, " * 4
    sqlite_sdk.store.create_experiment("churn", text)
    [record] = json.loads(cli.ok("experiments", "list", "--format", "json"))
    assert record["description"] == text and record["name"] == "churn"
    [row] = list(csv.DictReader(io.StringIO(cli.ok("experiments", "list", "--format", "csv"))))
    assert row["description"] == text


def test_an_unknown_format_is_refused_naming_the_choices(cli: Cli, sqlite_sdk: Client) -> None:
    result = cli.invoke("runs", "list", "--format", "xml")
    assert result.exit_code == 2
    assert "--format" in result.output and "table" in result.output and "csv" in result.output


@pytest.mark.slow
def test_piped_tables_are_complete_not_cut_at_80_columns(shell: Shell, sqlite_sdk: Client) -> None:
    text = "the churn model retrained every month on the latest six months of events"
    sqlite_sdk.store.create_experiment("churn-with-a-rather-long-experiment-name", text)
    sqlite_sdk.close()
    done = shell("experiments", "list")
    assert done.returncode == 0, done.stderr
    assert "churn-with-a-rather-long-experiment-name" in done.stdout
    assert text in done.stdout
    assert "…" not in done.stdout
