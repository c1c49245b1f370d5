"""A step that re-ran because its code changed says which part: the step's own code, a
helper function or constant of its module (with the module's path), several of them, or,
for a step run recorded before parts were kept, only that the code changed."""

from __future__ import annotations

from shipyard.pipelines import cache_decision
from shipyard.tracking import Client
from tests.pipelines.conftest import EditableProject


def _why(project: EditableProject, **edits: str) -> str:
    """Run the project's pipeline as it is, then with ``edits``; the second run's decision
    for the step."""
    project.load().training.run()
    rerun = project.load(**edits).training.run()
    return cache_decision(rerun.steps["prepared"].logs)


def test_an_edited_helper_is_named_with_its_module(
    sqlite_sdk: Client, editable_project: EditableProject
) -> None:
    why = _why(editable_project, clean="r % 2 == 1")
    assert why == f"re-ran: code of helper `clean_rows` (`{editable_project.path}`) changed"


def test_an_edited_step_body_is_the_steps_own_code(
    sqlite_sdk: Client, editable_project: EditableProject
) -> None:
    why = _why(editable_project, body="scale(clean_rows(list(range(n + 1))))[:LIMIT]")
    assert why == "re-ran: the step's own code changed"


def test_two_edited_helpers_and_a_constant_are_each_named(
    sqlite_sdk: Client, editable_project: EditableProject
) -> None:
    path = editable_project.path
    why = _why(editable_project, clean="r > 1", factor="3", limit="2")
    assert why == (
        f"re-ran: constant `LIMIT` (`{path}`) changed; code of helper `clean_rows` (`{path}`) "
        f"changed; code of helper `scale` (`{path}`) changed"
    )


def test_the_same_code_is_still_served_from_the_cache(
    sqlite_sdk: Client, editable_project: EditableProject
) -> None:
    first = editable_project.load().training.run()
    again = editable_project.load(clean="(r % 2 == 0)").training.run()
    step = first.steps["prepared"]
    assert again.steps["prepared"].cache_hit
    assert again.steps["prepared"].code_parts == step.code_parts
    assert set(step.code_parts) == {"step", "helper clean_rows", "helper scale", "constant LIMIT"}


def test_a_step_run_recorded_without_parts_falls_back_to_code_changed(
    sqlite_sdk: Client, editable_project: EditableProject
) -> None:
    first = editable_project.load().training.run()
    step = first.steps["prepared"]
    sqlite_sdk.store.update_step_runs({step.id: {"code_parts": {}}})  # as before parts were kept
    rerun = editable_project.load(clean="r > 3").training.run()
    assert cache_decision(rerun.steps["prepared"].logs) == (
        f"re-ran: code changed since pipeline run {first.id[:12]} (the step's source, or a "
        "function, class or constant of its module that it uses)"
    )
