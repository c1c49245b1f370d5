"""Pipeline runs, step runs, the cache lookup and schedules through the Store protocol, and a
pipeline driven through the SDK, on every database backend, embedded and through the
server."""

from __future__ import annotations

from pathlib import Path

import pytest

import shipyard
from shipyard import data, pipelines
from shipyard.client import Store
from shipyard.entities import LineageEdge, LineageNode, PipelineRun, Schedule, StepRun
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound
from shipyard.tracking import Client
from tests.pipelines import steps
from tests.pipelines.steps import calls


def _run(status: str = "RUNNING", **extra: object) -> PipelineRun:
    return PipelineRun(
        id=str(extra.pop("id", "")),
        pipeline="train",
        ref="pkg.mod:train",
        status=status,
        params={"n": 1},
        executor="inline",
        dag=[{"name": "a", "step": "pkg.mod:a", "upstream": []}],
        created_at=1000,
        start_time=1000,
        **extra,  # type: ignore[arg-type]
    )


def test_runs_and_steps_round_trip(store: Store) -> None:
    store.register_pipeline("train", "pkg.mod:train", "trains")
    store.register_pipeline("train", "pkg.other:train", "moved")
    assert [(p.name, p.ref) for p in store.list_pipelines()] == [("train", "pkg.other:train")]
    run, ids = store.create_pipeline_run(
        _run(),
        [StepRun("", "", "a", "pkg.mod:a", "PENDING"), StepRun("", "", "b", "x:b", "PENDING")],
    )
    assert run.params == {"n": 1} and run.dag[0]["name"] == "a" and len(ids) == 2
    assert store.get_pipeline_run(run.id[:8]) == run
    store.update_step_run(
        ids[0],
        status="FINISHED",
        cache_key="k" * 64,
        start_time=1,
        end_time=5,
        outputs=[{"type": "json", "hash": "h", "value": "1"}],
        logs="hello",
    )
    store.update_step_runs({ids[1]: {"status": "SKIPPED", "error": "upstream failed"}})
    steps = {s.name: s for s in store.list_step_runs(run.id)}
    assert steps["a"].outputs == [{"type": "json", "hash": "h", "value": "1"}]
    assert steps["a"].duration_ms == 4 and steps["a"].logs == "hello"
    assert steps["b"].status == "SKIPPED" and steps["b"].error == "upstream failed"
    assert store.find_cached_step_run("k" * 64) == steps["a"]
    assert store.find_cached_step_run("z" * 64) is None
    store.update_pipeline_run(run.id, status="FINISHED", end_time=2000)
    assert store.get_pipeline_run(run.id).duration_ms == 1000
    more = store.add_step_runs(run.id, [StepRun("", "", "c", "x:c", "PENDING")])
    assert store.get_step_run(more[0]).name == "c"


def test_a_step_runs_code_record_round_trips_and_bad_records_are_refused(store: Store) -> None:
    run, ids = store.create_pipeline_run(_run(), [StepRun("", "", "a", "pkg.mod:a", "PENDING")])
    assert store.get_step_run(ids[0]).code_parts == {}  # recorded before any code is known
    parts = {"step": "0123456789abcdef", "helper clean_rows": "fedcba9876543210"}
    store.update_step_run(ids[0], status="RUNNING", code_parts=parts)
    assert store.get_step_run(ids[0]).code_parts == parts
    store.update_step_runs({ids[0]: {"code_parts": {"step": "aa"}}})
    assert store.list_step_runs(run.id)[0].code_parts == {"step": "aa"}
    for bad in ({"step": "not hex"}, {"": "aa"}, ["step"], {"step": 7}):
        with pytest.raises(InvalidArgument, match="code_parts") as caught:
            store.update_step_run(ids[0], code_parts=bad)
        assert caught.value.field == "code_parts"
    assert store.get_step_run(ids[0]).code_parts == {"step": "aa"}  # nothing was lost


def test_listing_filters_and_bad_input(store: Store) -> None:
    first, _ = store.create_pipeline_run(_run(status="QUEUED", schedule="nightly"))
    second, _ = store.create_pipeline_run(_run())
    assert {r.id for r in store.list_pipeline_runs()} == {first.id, second.id}
    assert [r.id for r in store.list_pipeline_runs(schedule="nightly")] == [first.id]
    assert [r.id for r in store.list_pipeline_runs(statuses=["QUEUED"])] == [first.id]
    assert store.list_pipeline_runs(pipeline="other") == []
    with pytest.raises(InvalidArgument, match="status 'DONE'"):
        store.update_pipeline_run(first.id, status="DONE")
    with pytest.raises(InvalidArgument, match="cannot be changed"):
        store.update_pipeline_run(first.id, pipeline="x")
    with pytest.raises(NotFound, match="no pipeline run"):
        store.get_pipeline_run("0" * 32)
    with pytest.raises(NotFound, match="no pipeline run"):
        store.update_pipeline_run("0" * 32, status="FAILED")
    store.update_pipeline_run(first.id[:10], status="RUNNING")  # a unique prefix, as shown
    assert store.get_pipeline_run(first.id).status == "RUNNING"
    with pytest.raises(NotFound, match="no step run"):
        store.update_step_run("0" * 32, status="FAILED")
    with pytest.raises(InvalidArgument, match="status 'BAD'"):
        store.update_step_run("0" * 32, status="BAD")
    with pytest.raises(NotFound, match="no pipeline named"):
        store.get_pipeline("ghost")
    with pytest.raises(InvalidArgument, match="limit"):
        store.list_pipeline_runs(limit=0)
    with pytest.raises(AlreadyExists, match="exists already"):  # an id chosen twice
        store.create_pipeline_run(_run(id=second.id))
    with pytest.raises(AlreadyExists):
        store.add_step_runs(first.id, [StepRun("s1", "", "a", "x:a", "PENDING")] * 2)
    assert store.list_step_runs(first.id) == []  # nothing of the refused batch was kept


def _edges_of(edges: list[LineageEdge]) -> set[tuple[LineageNode, LineageNode, str]]:
    return {(e.src, e.dst, e.relation) for e in edges}


def _edges(store: Store, step_run_id: str) -> set[tuple[LineageNode, LineageNode, str]]:
    """The edges upstream of a step run, without the time each was recorded."""
    return _edges_of(store.get_lineage(LineageNode("step_run", step_run_id)))


def test_step_runs_and_their_lineage_are_updated_in_one_call(store: Store) -> None:
    run, (a, b) = store.create_pipeline_run(
        _run(),
        [StepRun("", "", "a", "pkg.mod:a", "PENDING"), StepRun("", "", "b", "x:b", "PENDING")],
    )
    consumed = LineageEdge(LineageNode("step_run", a), LineageNode("step_run", b), "consumed")
    produced = LineageEdge(
        LineageNode("pipeline_run", run.id), LineageNode("step_run", a), "produced"
    )
    store.update_step_runs(
        {
            a: {"status": "FINISHED", "end_time": 7, "outputs": [{"type": "none", "hash": "h"}]},
            b: {"status": "RUNNING", "start_time": 8, "attempts": 1},
        },
        [consumed, produced, consumed],  # an edge given twice is kept once
    )
    steps = {s.name: s for s in store.list_step_runs(run.id)}
    assert steps["a"].status == "FINISHED" and steps["a"].outputs == [{"type": "none", "hash": "h"}]
    assert steps["b"].status == "RUNNING" and steps["b"].attempts == 1
    assert _edges(store, b) == _edges_of([consumed, produced])
    # a bad batch changes nothing: neither the step runs nor the lineage
    loop = LineageEdge(LineageNode("step_run", b), LineageNode("step_run", b), "consumed")
    with pytest.raises(InvalidArgument, match="itself"):
        store.update_step_runs({a: {"status": "FAILED"}}, [loop])
    with pytest.raises(NotFound, match="no step run"):
        store.update_step_runs({a: {"status": "FAILED"}, "0" * 32: {"error": "x"}}, [loop])
    # step runs changing the same fields go in one statement: a missing one is still named
    with pytest.raises(NotFound, match=r"no step run with id .0{32}"):
        store.update_step_runs({a: {"status": "FAILED"}, "0" * 32: {"status": "FAILED"}})
    with pytest.raises(InvalidArgument, match="relation"):
        odd = LineageEdge(LineageNode("step_run", a), LineageNode("step_run", b), "made")
        store.update_step_runs({a: {"status": "FAILED"}}, [odd])
    assert store.get_step_run(a).status == "FINISHED"
    assert _edges(store, b) == _edges_of([consumed, produced])


def test_schedules_round_trip(store: Store) -> None:
    store.register_pipeline("train", "pkg.mod:train", "")
    made = store.put_schedule(
        Schedule("nightly", "train", "pkg.mod:train", "0 3 * * *", params={"n": 2}, created_at=5)
    )
    assert made.params == {"n": 2} and made.missed == "skip" and made.enabled
    store.set_schedule_fired("nightly", 99)
    again = store.put_schedule(
        Schedule("nightly", "train", "pkg.mod:train", "0 4 * * *", overlap="queue", created_at=6)
    )
    assert again.cron == "0 4 * * *" and again.last_fire_at == 99 and again.overlap == "queue"
    assert [s.name for s in store.list_schedules()] == ["nightly"]
    store.delete_schedule("nightly")
    assert store.list_schedules() == []
    with pytest.raises(NotFound, match="no schedule named"):
        store.get_schedule("nightly")


def test_a_pipeline_runs_caches_fails_and_resumes_through_the_sdk(sdk: Client) -> None:
    """The engine's whole use of the store (runs, step runs, the cache, lineage, datasets,
    blobs), embedded and through the server."""
    first = steps.chain.run(n=4)
    assert first.ok and first.output("total") == 12 and first.output("side") == {"n": 104}
    assert sorted(calls()) == ["double", "side", "source", "total"]
    again = steps.chain.run(n=4)
    assert sorted(again.cache_hits) == ["double", "side", "source", "total"]
    assert len(calls()) == 4 and again.output("total") == 12
    stored = {s.name: s for s in sdk.store.list_step_runs(first.id)}
    assert stored["source"].outputs[0]["ref"] == "chain.source@1"
    assert stored["double"].inputs["df"]["from"] == "source"
    assert data.load("chain.double@1")["x"].tolist() == [0, 2, 4, 6]
    up = shipyard.lineage.upstream(f"step_run:{stored['total'].id}")
    assert LineageNode("pipeline_run", first.id) in up.nodes
    assert [r.id for r in pipelines.list_runs("chain")] == [again.id, first.id]

    failed = steps.fragile.run(raise_on_failure=False)
    assert failed.status == "FAILED"
    assert {n: s.status for n, s in failed.steps.items()} == {
        "fine": "FINISHED",
        "boom": "FAILED",
        "after_boom": "SKIPPED",
        "independent": "FINISHED",
    }
    Path("fixed.flag").write_text("fixed")
    resumed = pipelines.resume(failed.id[:10])
    assert resumed.ok and resumed.run.resumed_from == failed.id
    assert sorted(resumed.cache_hits) == ["fine", "independent"]
