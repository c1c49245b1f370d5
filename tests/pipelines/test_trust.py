"""Nothing a run did not produce or verify is ever unpickled or imported (issue 14, defect 1):
the step-cache exploit (a pickle whose ``__reduce__`` runs code, patched into a cached step
run's outputs) never runs on any executor, while pickles of a pipeline that opted in still
flow between its own steps, come back from the cache and load from the run afterwards."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest

from shipyard import pipelines
from shipyard.entities import ArtifactInfo, manifest_digest
from shipyard.errors import InvalidArgument, PermissionDenied, PipelineFailed
from shipyard.pipelines import pipeline, step
from shipyard.tracking import Client
from tests.pipelines import steps
from tests.pipelines.steps import calls

if TYPE_CHECKING:
    from tests.pipelines.conftest import Exploit


def test_a_pipelines_own_pickles_flow_downstream_and_come_back_from_the_cache(
    sqlite_sdk: Client,
) -> None:
    first = steps.boxes.run(value=7)
    assert first.output("open_box") == 7 and first.output("make_box").value == 7
    assert "seal" in first.steps["make_box"].outputs[0]
    again = steps.boxes.run(value=7)
    assert sorted(again.cache_hits) == ["make_box", "open_box"]
    assert again.output("make_box").value == 7  # sealed by this home: vouched for
    assert pipelines.get_run(first.id).output("make_box").value == 7
    assert calls() == ["make_box", "open_box"]

    trusting = steps.trusting.run(value=5)  # @pipeline(trusted_pickle=True)
    assert trusting.output("open_box") == 5 and trusting.output("make_plain_box").value == 5
    refused = steps.untrusting.run(raise_on_failure=False)
    assert "set @step(trusted_pickle=True)" in refused.steps["make_plain_box"].error


@pytest.mark.parametrize("executor", ["inline", "process"])
def test_a_pickle_patched_into_a_cached_step_run_is_never_unpickled(
    sqlite_sdk: Client, exploit: Exploit, executor: str
) -> None:
    store = sqlite_sdk.store
    first = steps.boxes.run(value=8, executor=executor)
    victim = first.steps["make_box"].id
    exploit.plant(store, victim, exploit.pickle_ref(store))

    with pytest.raises(PipelineFailed, match=r"make_box: step 'make_box': refusing to reuse"):
        steps.boxes.run(value=8, executor=executor)
    failed = steps.boxes.run(value=8, executor=executor, raise_on_failure=False)
    error = failed.steps["make_box"].error
    assert f"cached step run {victim}" in error and "changed after the step ran" in error
    assert "--no-cache" in error
    assert failed.steps["open_box"].status == "SKIPPED"
    with pytest.raises(
        PermissionDenied, match="refusing to unpickle the output of step 'make_box'"
    ):
        pipelines.get_run(first.id).output("make_box")
    assert not exploit.ran

    fresh = steps.boxes.run(value=8, executor=executor, cache=False)
    assert fresh.output("open_box") == 8 and steps.boxes.run(value=8).cache_hits
    assert not exploit.ran


def test_a_copied_or_foreign_seal_does_not_make_a_pickle_loadable(
    sqlite_sdk: Client, exploit: Exploit
) -> None:
    store = sqlite_sdk.store
    first = steps.boxes.run(value=9)
    victim = first.steps["make_box"].id
    genuine = first.steps["make_box"].outputs[0]

    copied = {**exploit.pickle_ref(store), "seal": genuine["seal"]}  # a seal over another hash
    exploit.plant(store, victim, copied)
    with pytest.raises(PipelineFailed, match="refusing to reuse cached step run"):
        steps.boxes.run(value=9)

    foreign = {**copied, "seal": {**genuine["seal"], "key": "0" * 16}}  # "another home's"
    exploit.plant(store, victim, foreign)
    rerun = steps.boxes.run(value=9)  # cannot be vouched for: the step runs again
    assert rerun.ok and rerun.output("open_box") == 9 and rerun.cache_hits == ["open_box"]
    assert calls() == ["make_box", "open_box", "make_box"]
    assert f"step run {victim} not reused" in rerun.steps["make_box"].logs
    assert not exploit.ran


def test_a_custom_model_patched_into_a_cached_step_run_is_never_imported(
    sqlite_sdk: Client, exploit: Exploit
) -> None:
    store = sqlite_sdk.store
    first = steps.boxes.run(value=4)
    exploit.plant(store, first.steps["make_box"].id, exploit.model_ref(store))
    with pytest.raises(PipelineFailed, match="is a custom model whose reference has no valid"):
        steps.boxes.run(value=4)
    with pytest.raises(PermissionDenied, match="model output of step 'make_box' was not produced"):
        pipelines.get_run(first.id).output("make_box")
    assert not exploit.ran and "sidecar_payload" not in sys.modules


def test_a_model_output_whose_files_leave_the_cache_folder_is_refused(
    sqlite_sdk: Client, exploit: Exploit
) -> None:
    store = sqlite_sdk.store
    first = steps.boxes.run(value=4)
    ref = exploit.model_ref(store)
    ref["files"][0]["path"] = "../../escaped.json"
    ref["hash"] = manifest_digest([ArtifactInfo.from_dict(f) for f in ref["files"]])
    ref["flavor"] = "sklearn"  # claims a safe format, so it would load without trust
    exploit.plant(store, first.steps["make_box"].id, ref)
    with pytest.raises(InvalidArgument, match=r"'\.\./\.\./escaped\.json' has an empty"):
        pipelines.get_run(first.id).output("make_box")
    assert not exploit.ran


def test_resume_carries_over_only_what_it_can_vouch_for(
    sqlite_sdk: Client, exploit: Exploit
) -> None:
    clean = steps.boxes.run(value=11)
    resumed = pipelines.resume(clean.id)
    assert sorted(resumed.cache_hits) == ["make_box", "open_box"]
    assert resumed.output("make_box").value == 11

    patched = steps.boxes.run(value=12)
    store = sqlite_sdk.store
    exploit.plant(store, patched.steps["make_box"].id, exploit.pickle_ref(store))
    with pytest.raises(PipelineFailed, match="refusing to reuse cached step run"):
        pipelines.resume(patched.id)
    assert not exploit.ran


def test_resume_reuses_a_step_only_under_the_key_it_computes(sqlite_sdk: Client) -> None:
    """A genuine sealed output of another step run, copied with its cache key into the run
    being resumed, is not carried over: the key this run computes for the step differs."""
    store = sqlite_sdk.store
    target = steps.boxes.run(value=13)
    other = steps.boxes.run(value=14).steps["make_box"]
    store.update_step_run(
        target.steps["make_box"].id, outputs=other.outputs, cache_key=other.cache_key
    )
    resumed = pipelines.resume(target.id)
    assert resumed.output("make_box").value == 13 and resumed.output("open_box") == 13


def test_the_trust_setting_is_a_bool() -> None:
    with pytest.raises(InvalidArgument, match="trusted_pickle must be True or False") as caught:

        @pipeline(trusted_pickle="yes")  # type: ignore[call-overload]
        def loose() -> None: ...

    assert caught.value.field == "trusted_pickle"
    with pytest.raises(InvalidArgument, match="trusted_pickle must be True or False"):

        @step(trusted_pickle=1)  # type: ignore[call-overload]
        def loose_step() -> Any: ...


def test_the_exploit_through_the_server_fails_the_step(sdk: Client, exploit: Exploit) -> None:
    """The patch goes where an attacker's would: through the store (the server's PATCH
    route when remote); the victim's next run refuses the cached outputs."""
    first = steps.boxes.run(value=2)
    exploit.plant(sdk.store, first.steps["make_box"].id, exploit.pickle_ref(sdk.store))
    failed = steps.boxes.run(value=2, raise_on_failure=False)
    assert failed.steps["make_box"].status == "FAILED" and not exploit.ran
    assert "refusing to reuse cached step run" in failed.steps["make_box"].error


@pytest.mark.slow
def test_the_exploit_never_runs_on_ray(
    ray_local: Any, sqlite_sdk: Client, exploit: Exploit
) -> None:
    first = steps.boxes.run(value=3, executor="ray")  # a pickle between two Ray workers
    assert first.output("open_box") == 3
    exploit.plant(
        sqlite_sdk.store, first.steps["make_box"].id, exploit.pickle_ref(sqlite_sdk.store)
    )
    failed = steps.boxes.run(value=3, executor="ray", raise_on_failure=False)
    assert failed.steps["make_box"].status == "FAILED"
    assert failed.steps["open_box"].status == "SKIPPED"
    fresh = steps.boxes.run(value=3, executor="ray", cache=False)
    assert fresh.output("open_box") == 3
    assert not exploit.ran
