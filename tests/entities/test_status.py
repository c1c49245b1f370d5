"""Statuses are StrEnums: equal to the strings stored and sent, checked when a record is built."""

from __future__ import annotations

import json

import pytest

from shipyard.entities import (
    AliasEvent,
    AliasOutcome,
    Lifecycle,
    MonitorRun,
    MonitorRunStatus,
    PipelineRun,
    PipelineRunStatus,
    Run,
    RunStatus,
    StepRun,
    StepStatus,
)
from shipyard.errors import InvalidArgument


def _run(status: str) -> Run:
    return Run("r1", "e1", "n", status, 0, None, None, "u", "active")  # type: ignore[arg-type]


def test_a_record_built_from_a_stored_string_holds_the_member() -> None:
    run = _run("FINISHED")
    assert run.status is RunStatus.FINISHED
    assert run.status == "FINISHED"
    assert run.status.ended and not RunStatus.RUNNING.ended


def test_a_record_round_trips_through_json_as_plain_strings() -> None:
    step = StepRun("s1", "p1", "train", "m:train", StepStatus.SKIPPED)
    body = json.loads(json.dumps(step.to_dict()))
    assert body["status"] == "SKIPPED"
    assert StepRun.from_dict(body).status is StepStatus.SKIPPED


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: _run("DONE"), "status"),
        (lambda: StepRun("s", "p", "n", "m:n", "DONE"), "status"),  # type: ignore[arg-type]
        (
            lambda: PipelineRun("p", "pipe", "m:pipe", "DONE", {}, "inline", [], 0),  # type: ignore[arg-type]
            "status",
        ),
        (lambda: MonitorRun("m", "mon", 0, 0, 0, 0, 1, "OK"), "status"),  # type: ignore[arg-type]
        (
            lambda: AliasEvent(1, "m", "champion", None, 1, "u", "", "kept", False, 0),  # type: ignore[arg-type]
            "outcome",
        ),
    ],
    ids=["run", "step", "pipeline-run", "monitor-run", "alias-event"],
)
def test_an_unknown_status_is_a_clear_error_naming_the_field(build, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArgument) as caught:
        build()
    assert caught.value.field == field
    assert "is not one of" in str(caught.value)


def test_members_carry_the_values_the_database_and_clients_already_use() -> None:
    assert [str(s) for s in PipelineRunStatus] == [
        "QUEUED",
        "RUNNING",
        "FINISHED",
        "FAILED",
        "KILLED",
    ]
    assert MonitorRunStatus.OK == "ok" and AliasOutcome.REJECTED == "rejected"


def test_a_run_from_a_row_holds_its_lifecycle_as_a_member() -> None:
    run = _run("RUNNING")
    assert run.lifecycle is Lifecycle.ACTIVE
    with pytest.raises(InvalidArgument) as caught:
        Run("r1", "e1", "n", RunStatus.RUNNING, 0, None, None, "u", "gone")  # type: ignore[arg-type]
    assert caught.value.field == "lifecycle"
