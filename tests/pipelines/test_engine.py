"""Pipelines as a user runs them: the DAG from data dependencies, caching that reruns exactly
what changed (code, data, params), retries with backoff, failures that skip only downstream
steps, resume, timeouts that stop the step, the process executor, output types, lineage and
clear errors for bad pipelines."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import shipyard
from shipyard import data
from shipyard.entities import LineageNode
from shipyard.errors import InvalidArgument, NotFound, PipelineFailed
from shipyard.pipelines import load_pipeline, pipeline, resume, step
from shipyard.tracking import Client
from tests.pipelines import steps
from tests.pipelines.steps import calls


def _statuses(result: Any) -> dict[str, str]:
    return {name: s.status for name, s in result.steps.items()}


def test_a_pipeline_runs_its_steps_in_dependency_order_and_records_them(sqlite_sdk: Client) -> None:
    result = steps.chain.run(n=4)
    assert result.ok and sorted(calls()) == ["double", "side", "source", "total"]
    assert calls().index("source") < calls().index("double") < calls().index("total")
    assert result.output("total") == 12 and result.output("side") == {"n": 104}
    stored = sqlite_sdk.store.get_pipeline_run(result.id)
    assert stored.status == "FINISHED" and stored.params == {"n": 4, "factor": 2}
    assert stored.ref == "tests.pipelines.steps:chain"
    assert {d["name"]: d["upstream"] for d in stored.dag} == {
        "source": [],
        "double": ["source"],
        "total": ["double"],
        "side": [],
    }
    step_runs = {s.name: s for s in sqlite_sdk.store.list_step_runs(result.id)}
    assert all(s.status == "FINISHED" and s.attempts == 1 for s in step_runs.values())
    assert step_runs["double"].params == {"factor": 2}
    assert step_runs["double"].inputs["df"]["from"] == "source"
    assert step_runs["source"].outputs[0]["ref"] == "chain.source@1"
    assert data.load("chain.double@1")["x"].tolist() == [0, 2, 4, 6]
    assert [p.name for p in sqlite_sdk.store.list_pipelines()] == ["chain"]


def test_caching_reruns_exactly_what_a_param_change_affects(sqlite_sdk: Client) -> None:
    steps.chain.run(n=5)
    again = steps.chain.run(n=5)
    assert sorted(again.cache_hits) == ["double", "side", "source", "total"]
    assert len(calls()) == 4  # nothing ran twice
    assert again.output("total") == 20
    changed = steps.chain.run(n=5, factor=3)
    assert sorted(changed.cache_hits) == ["side", "source"]
    assert calls()[4:] == ["double", "total"]
    assert changed.output("total") == 30
    forced = steps.chain.run(n=5, cache=False)
    assert forced.cache_hits == [] and len(calls()) == 10


def test_caching_reruns_exactly_what_a_data_change_affects(sqlite_sdk: Client) -> None:
    data.register("nums", pd.DataFrame({"x": [1, 2, 3]}))
    first = steps.on_data.run()
    assert calls() == ["from_dataset", "total"] and first.output("total") == 6
    data.register("nums", pd.DataFrame({"x": [1, 2, 3]}))  # same content: same version
    assert sorted(steps.on_data.run().cache_hits) == ["from_dataset", "total"]
    data.register("nums", pd.DataFrame({"x": [10, 20, 30]}))
    changed = steps.on_data.run()
    assert changed.cache_hits == [] and changed.output("total") == 60
    assert calls()[2:] == ["from_dataset", "total"]
    inputs = changed.steps["from_dataset"].inputs["df"]
    assert inputs["ref"] == "nums@2"


_MODULE = '''
import pandas as pd
from shipyard.pipelines import pipeline, step
from tests.pipelines.steps import called, source, side


@step
def double(df: pd.DataFrame, factor: int = 2) -> pd.DataFrame:
    """Docstrings and comments do not count as code."""
    called("double")  {note}
    return df.assign(x=df["x"] * {body})


@step
def total(df: pd.DataFrame) -> int:
    called("total")
    return int(df["x"].sum())


@pipeline
def chain(n: int = 5, factor: int = 2) -> None:
    total(double(source(n), factor=factor))
    side(n + 100)
'''


def _module(tmp_path: Path, name: str, body: str, note: str = "") -> Any:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(_MODULE.replace("{body}", body).replace("{note}", note)))
    return load_pipeline(f"{path}:chain")


def test_caching_reruns_exactly_what_a_code_change_affects(
    sqlite_sdk: Client, tmp_path: Path
) -> None:
    _module(tmp_path, "v1", "factor").run()
    assert sorted(calls()) == ["double", "side", "source", "total"]
    reformatted = _module(tmp_path, "v1b", "(factor)", note="# a comment")
    assert len(reformatted.run().cache_hits) == 4
    changed = _module(tmp_path, "v2", "factor + 1").run()
    assert sorted(changed.cache_hits) == ["side", "source"]
    assert calls()[4:] == ["double", "total"] and changed.output("total") == 25


_HELPED = '''
import pandas as pd
from shipyard.pipelines import pipeline, step
from tests.pipelines.steps import called, source

OFFSET = {offset}


def _scale(x):
    return _twice(x) * {factor}


def _twice(x):
    """A helper of a helper."""
    return x * 2


@step
def scaled(df: pd.DataFrame) -> int:
    called("scaled")
    return int(_scale(df["x"]).sum()) + OFFSET


@pipeline
def helped(n: int = 3) -> None:
    scaled(source(n))
'''


def _helped(tmp_path: Path, name: str, factor: str, offset: str = "0") -> Any:
    path = tmp_path / f"{name}.py"
    path.write_text(_HELPED.replace("{factor}", factor).replace("{offset}", offset))
    return load_pipeline(f"{path}:helped")


def test_a_change_to_a_helper_of_the_steps_module_reruns_the_step(
    sqlite_sdk: Client, tmp_path: Path
) -> None:
    assert _helped(tmp_path, "h1", "1").run().output("scaled") == 6  # (0+1+2) * 2
    same = _helped(tmp_path, "h2", "1").run()  # the same code in another file: cached
    assert same.cache_hits == ["source", "scaled"]
    changed = _helped(tmp_path, "h3", "(1 + 2)").run()  # the helper changed
    assert changed.cache_hits == ["source"] and changed.output("scaled") == 18
    constant = _helped(tmp_path, "h4", "(1 + 2)", offset="100").run()  # a module constant
    assert constant.cache_hits == ["source"] and constant.output("scaled") == 118
    path = tmp_path / "h5.py"  # a helper's helper changed
    path.write_text(
        _HELPED.replace("{factor}", "(1 + 2)")
        .replace("{offset}", "100")
        .replace("return x * 2", "return x * 3")
    )
    nested = load_pipeline(f"{path}:helped").run()
    assert nested.cache_hits == ["source"] and nested.output("scaled") == 127


def test_a_failed_step_skips_downstream_while_independent_steps_finish(sqlite_sdk: Client) -> None:
    with pytest.raises(PipelineFailed, match=r"boom: RuntimeError: boom: the flag file"):
        steps.fragile.run()
    [failed] = sqlite_sdk.store.list_pipeline_runs(pipeline="fragile")
    assert failed.status == "FAILED" and "boom" in failed.error
    result = {s.name: s for s in sqlite_sdk.store.list_step_runs(failed.id)}
    assert {n: s.status for n, s in result.items()} == {
        "fine": "FINISHED",
        "boom": "FAILED",
        "after_boom": "SKIPPED",
        "independent": "FINISHED",
    }
    assert "RuntimeError: boom" in result["boom"].error
    assert "upstream step 'boom' failed" in result["after_boom"].error
    assert "after_boom" not in calls()


def test_the_result_of_a_run_is_what_the_store_holds(sqlite_sdk: Client) -> None:
    """The result is built from what the run wrote, not read back: it must not differ from
    a read, whether steps ran, failed, were skipped, came from the cache or were reused."""
    store = sqlite_sdk.store
    failed = steps.fragile.run(raise_on_failure=False)
    Path("fixed.flag").write_text("fixed")
    resumed = resume(failed.id)
    cached = steps.chain.run(n=3), steps.chain.run(n=3)
    for result in (failed, resumed, *cached):
        assert result.run == store.get_pipeline_run(result.id)
        read = {s.name: s for s in store.list_step_runs(result.id)}
        assert list(result.steps.items()) == list(read.items())  # the same records, in order
    assert {s.status for s in failed.steps.values()} == {"FINISHED", "FAILED", "SKIPPED"}
    assert sorted(cached[1].cache_hits) == ["double", "side", "source", "total"]
    assert resumed.run.end_time is not None and resumed.run.status == "FINISHED"


def test_resume_reruns_only_what_did_not_succeed(sqlite_sdk: Client) -> None:
    failed = steps.fragile.run(raise_on_failure=False)
    assert failed.status == "FAILED" and sorted(calls()) == ["boom", "fine", "independent"]
    Path("fixed.flag").write_text("fixed")
    resumed = resume(failed.id[:10])
    assert resumed.ok and resumed.run.resumed_from == failed.id
    assert calls()[3:] == ["boom", "after_boom"]
    assert sorted(resumed.cache_hits) == ["fine", "independent"]
    assert resumed.output("after_boom") == 20
    assert "reused from step run" in resumed.steps["fine"].logs


def test_retries_wait_with_backoff_then_succeed(sqlite_sdk: Client) -> None:
    events: list[tuple[str, str, dict[str, Any]]] = []
    result = steps.retrying.run(on_event=lambda *e: events.append(e))
    assert result.ok and calls() == ["flaky"] * 3
    assert result.steps["flaky"].attempts == 3
    delays = [info["delay"] for _name, status, info in events if status == "RETRYING"]
    assert delays == pytest.approx([0.01, 0.03])  # retry_delay * backoff ** (attempt - 1)


def test_retries_run_out_and_bad_outputs_are_not_retried(sqlite_sdk: Client) -> None:
    @step(retries=1)
    def always_fails() -> int:
        steps.called("always_fails")
        raise ValueError("nope")

    @pipeline
    def doomed() -> None:
        always_fails()

    result = doomed.run(raise_on_failure=False)
    assert result.steps["always_fails"].attempts == 2 and calls() == ["always_fails"] * 2
    bad = steps.bad_output.run(raise_on_failure=False)
    assert bad.steps["returns_object"].attempts == 1  # retrying cannot fix the type
    assert "returned a tests.pipelines.steps.Opaque" in bad.steps["returns_object"].error
    assert "trusted_pickle=True" in bad.steps["returns_object"].error
    assert steps.trusted.run().output("pickled_object").value == 4


@pytest.mark.slow
def test_a_timeout_really_stops_the_step(sqlite_sdk: Client) -> None:
    result = steps.too_slow.run(raise_on_failure=False)
    assert _statuses(result) == {"sleepy": "FAILED", "independent": "FINISHED"}
    assert "timed out after 1s" in result.steps["sleepy"].error
    pid = int(Path("sleepy.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not Path("sleepy.finished").exists()


@pytest.mark.slow
def test_the_process_executor_runs_independent_steps_in_parallel(sqlite_sdk: Client) -> None:
    result = steps.parallel.run(executor="process")
    left, right = result.output("wait_for_peer"), result.output("wait_for_peer_2")
    assert left != right and os.getpid() not in (left, right)
    assert result.run.executor == "process"
    again = steps.chain.run(n=3, executor="process")
    assert again.output("total") == 6 and sorted(calls()) == sorted(
        ["source", "double", "total", "side"]
    )


def test_lineage_links_data_steps_and_the_pipeline_run(sqlite_sdk: Client) -> None:
    data.register("nums", pd.DataFrame({"x": [1, 2]}))
    result = steps.on_data.run()
    output = result.steps["from_dataset"].outputs[0]
    up = shipyard.lineage.upstream(f"dataset_version:{output['dataset_version_id']}")
    assert [n.id for n in up.of_kind("dataset_version")] == [data.get("nums@1").id]
    assert up.of_kind("pipeline_run") == [result.lineage_node]
    down = shipyard.lineage.downstream("nums@1")
    assert {n.id for n in down.of_kind("step_run")} == {
        result.steps["from_dataset"].id,
        result.steps["total"].id,
    }
    # a cached rerun links the new run to the same data
    rerun = steps.on_data.run()
    assert (
        LineageNode("pipeline_run", rerun.id)
        in shipyard.lineage.upstream(f"step_run:{rerun.steps['total'].id}").nodes
    )


def test_bad_pipelines_are_refused_before_anything_runs(sqlite_sdk: Client) -> None:
    @step
    def a(x: int = 0) -> int:
        return x

    @pipeline
    def cyclic() -> None:
        first = a(after=["a_2"])
        a(first)

    with pytest.raises(InvalidArgument, match=r"has a cycle: a -> a_2 -> a|cycle"):
        cyclic.run()

    @pipeline
    def waits_for_ghost() -> None:
        a(after=["ghost"])

    with pytest.raises(InvalidArgument, match="waits for 'ghost'"):
        waits_for_ghost.run()

    @pipeline
    def empty() -> None:
        pass

    with pytest.raises(InvalidArgument, match="calls no steps"):
        empty.run()

    @pipeline
    def peeks() -> None:
        if a():
            a()

    with pytest.raises(TypeError, match="no truth value"):
        peeks.run()

    @pipeline
    def attribute() -> None:
        a(a().shape)

    with pytest.raises(AttributeError, match="not computed while the pipeline is being built"):
        attribute.run()

    @pipeline
    def unpacks() -> None:
        _first, _second = a()

    with pytest.raises(TypeError, match="cannot be unpacked"):
        unpacks.run()

    with pytest.raises(InvalidArgument, match="has no parameter bogus"):
        steps.chain.run(bogus=1)

    @pipeline
    def object_param() -> None:
        a(object())

    with pytest.raises(InvalidArgument, match="cannot be recorded"):
        object_param.run()
    with pytest.raises(NotFound, match="no dataset named 'ghost'"):
        steps.on_data.run(name="ghost")
    with pytest.raises(InvalidArgument, match="reserved"):
        step(lambda after: after)
    with pytest.raises(InvalidArgument, match="retries"):
        step(retries=-1)
    with pytest.raises(InvalidArgument, match="timeout"):
        step(timeout=0)
    with pytest.raises(InvalidArgument, match="unknown resources"):
        step(resources={"tpu": 1})
    with pytest.raises(InvalidArgument, match="unknown executor"):
        steps.chain.run(executor="kubernetes")
    assert sqlite_sdk.store.list_pipeline_runs() == []


def test_steps_defined_in_functions_cannot_go_to_another_process(sqlite_sdk: Client) -> None:
    @step
    def local_step() -> int:
        return 1

    @pipeline
    def nested() -> None:
        local_step()

    result = nested.run(executor="process", raise_on_failure=False)
    assert "defined inside a function" in result.steps["local_step"].error
    assert nested.run().ok  # inline runs it fine


def test_outputs_of_every_type_round_trip(sqlite_sdk: Client) -> None:
    import numpy as np
    from sklearn.linear_model import LinearRegression

    @step(outputs=("frame", "array", "model", "nothing"))
    def produce() -> tuple[Any, ...]:
        model = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
        return pd.DataFrame({"a": [1]}), np.arange(3.0), model, None

    @step
    def consume(frame: pd.DataFrame, array: Any, model: Any, nothing: Any) -> dict[str, Any]:
        return {
            "rows": len(frame),
            "sum": float(array.sum()),
            "pred": float(model.predict([[2.0]])[0]),
            "none": nothing is None,
        }

    @pipeline
    def typed() -> None:
        frame, array, model, nothing = produce()
        consume(frame, array, model, nothing)

    result = typed.run(cache=False)
    assert result.output("consume") == {
        "rows": 1,
        "sum": 3.0,
        "pred": pytest.approx(4.0),
        "none": True,
    }
    frame, array, model, nothing = result.output("produce")
    assert frame["a"].tolist() == [1] and array.tolist() == [0.0, 1.0, 2.0]
    assert model.predict([[3.0]])[0] == pytest.approx(6.0) and nothing is None
    outputs = result.steps["produce"].outputs
    assert [o["type"] for o in outputs] == ["dataframe", "ndarray", "model", "none"]
    assert outputs[2]["flavor"] == "sklearn"  # the registry's safe format, one blob per file
    assert {f["path"] for f in outputs[2]["files"]} >= {"shipyard-model.json"}
    assert data.get("typed.produce.frame@1").num_rows == 1


def test_data_loaded_and_runs_started_inside_a_step_are_linked_to_it(
    sqlite_sdk: Client,
) -> None:
    version = data.register("nums", pd.DataFrame({"x": [1, 2, 3]}))

    @step
    def reads_and_tracks() -> int:
        frame = data.load("nums@1")
        with shipyard.start_run(experiment="inside", name="fit") as run:
            run.log_metric("rows", len(frame))
        return len(frame)

    @pipeline
    def inside() -> None:
        reads_and_tracks()

    result = inside.run()
    step_node = LineageNode("step_run", result.steps["reads_and_tracks"].id)
    down = shipyard.lineage.downstream(version)
    assert step_node in down.nodes
    [tracked] = down.of_kind("run")
    assert shipyard.get_run(tracked.id).name == "fit"
    up = shipyard.lineage.upstream(tracked)
    assert step_node in up.nodes and result.lineage_node in up.nodes


def test_what_a_step_did_is_in_the_store_before_the_next_step_starts(sqlite_sdk: Client) -> None:
    result = steps.watched.run()
    assert result.output("peek_at_records") == {
        "first": ["FINISHED", 1],
        "second": ["FINISHED", 1],
        "peek_at_records": ["RUNNING", 0],
    }
    upstream = shipyard.lineage.upstream(f"step_run:{result.steps['second'].id}").nodes
    assert LineageNode("step_run", result.steps["first"].id) in upstream
    assert result.lineage_node in upstream


def test_a_crash_mid_run_leaves_the_finished_steps_recorded(
    sqlite_sdk: Client, tmp_path: Path
) -> None:
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "SHIPYARD_HOME": str(sqlite_sdk.settings.home), "PYTHONPATH": str(repo)}
    script = "from tests.pipelines import steps; steps.crashing.run()"
    died = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, timeout=300)
    assert died.returncode == 3  # os._exit in the third step: nothing was cleaned up
    store = sqlite_sdk.store
    (run,) = store.list_pipeline_runs(pipeline="crashing")
    recorded = {s.name: s for s in store.list_step_runs(run.id)}
    assert recorded["crash"].status == "RUNNING" and recorded["crash"].attempts == 1
    for name, value in (("first", "1"), ("second", "2")):
        assert recorded[name].status == "FINISHED" and recorded[name].end_time is not None
        assert [ref["value"] for ref in recorded[name].outputs] == [value]
    assert recorded["crash"].inputs["value"]["from"] == "second"
    upstream = shipyard.lineage.upstream(f"step_run:{recorded['second'].id}").nodes
    assert LineageNode("step_run", recorded["first"].id) in upstream
    assert LineageNode("pipeline_run", run.id) in upstream
