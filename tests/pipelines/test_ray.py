"""The Ray executor on a local Ray instance (slow: Ray takes a while to start on 2 cores),
the clear error when a Ray address does not answer, and tasks crossing to workers as bytes."""

from __future__ import annotations

import pickle
import socket
from typing import Any

import pytest

from shipyard.config import Settings
from shipyard.errors import InvalidArgument, ServiceUnavailable
from shipyard.pipelines._ray import (
    RayExecutor,
    _pickled,
    _run_on_ray,
    check_reachable,
    memory_bytes,
)
from shipyard.pipelines._task import StepOutcome, StepTask
from shipyard.tracking import Client
from tests.pipelines import steps
from tests.pipelines.steps import calls


@pytest.mark.slow
def test_pipelines_run_cache_and_fail_cleanly_on_ray(ray_local: Any, sqlite_sdk: Client) -> None:
    result = steps.chain.run(n=4, executor="ray")
    assert result.ok and result.run.executor == "ray"
    assert result.output("total") == 12
    assert not any(s.cache_hit for s in result.steps.values())
    assert calls() == []  # nothing ran in this process: Ray workers did the work
    again = steps.chain.run(n=4, executor=RayExecutor())
    assert len(again.cache_hits) == 4
    failed = steps.fragile.run(executor="ray", raise_on_failure=False)
    statuses = {name: s.status for name, s in failed.steps.items()}
    assert statuses == {
        "fine": "FINISHED",
        "boom": "FAILED",
        "after_boom": "SKIPPED",
        "independent": "FINISHED",
    }
    assert "RuntimeError: boom" in failed.steps["boom"].error


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_ray_address_is_a_clear_error() -> None:
    address = f"ray://127.0.0.1:{_free_port()}"
    with pytest.raises(ServiceUnavailable, match=f"no Ray cluster answers at {address}"):
        check_reachable(address, timeout=1.0)
    with pytest.raises(Exception, match="not host:port"):
        check_reachable("nonsense", timeout=1.0)


def test_memory_sizes_are_parsed() -> None:
    assert memory_bytes("4GB") == 4_000_000_000
    assert memory_bytes("512MiB") == 512 * 2**20
    assert memory_bytes(1024) == 1024
    with pytest.raises(InvalidArgument, match="not a size"):
        memory_bytes("lots")


def _task(settings: Settings, step_ref: str, **params: Any) -> StepTask:
    return StepTask(
        node="n",
        step_run_id="0" * 32,
        step_ref=step_ref,
        inputs={},
        params=params,
        settings=settings,
        dataset_names=["p.n"],
        n_outputs=None,
        fn=print,  # in-memory parts stay behind
        contracts={},
    )


def test_a_task_and_its_outcome_cross_to_ray_workers_as_bytes(sqlite_settings: Settings) -> None:
    pytest.importorskip("ray")
    task = _task(sqlite_settings, "tests.pipelines.steps:no_such_step", factor=3)
    payload = _pickled(task)
    sent = pickle.loads(payload)
    assert sent == task and sent.fn is None and sent.contracts is None
    # the worker's side: a step that cannot be imported fails clearly, as data, not retried
    outcome = pickle.loads(_run_on_ray(payload))
    assert isinstance(outcome, StepOutcome) and not outcome.ok and not outcome.retryable
    assert "cannot import step 'tests.pipelines.steps:no_such_step'" in outcome.error


def test_a_param_the_standard_pickler_refuses_still_reaches_the_worker(
    sqlite_settings: Settings,
) -> None:
    pytest.importorskip("ray")
    task = _task(sqlite_settings, "tests.pipelines.steps:source", scale=lambda x: x * 2)
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(task.portable())
    sent = pickle.loads(_pickled(task))  # written by cloudpickle, read by plain pickle
    assert sent.params["scale"](21) == 42
