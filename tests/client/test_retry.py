"""RestStore repeats a server call while that is safe: reads, content-addressed blob PUTs and
every request that never reached the server ride out 503s, resets and refused connections
within a time budget; a write that may have reached the server (a metric batch, a new run) is
never sent twice. When the budget is spent the error names the server and its last answer.
"""

from __future__ import annotations

import random
import re
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from shipyard.client._retry import FIRST_DELAY, MAX_DELAY, RetryBudget, retry_after
from shipyard.config import load_settings
from shipyard.entities import MetricPoint
from shipyard.errors import ConfigError, ServiceUnavailable
from tests.support.proxy import Answer


class FakeTime:
    """A clock that moves only when slept on, recording each sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def budget(self, seconds: float, retries: int = 100) -> RetryBudget:
        return RetryBudget(
            seconds, retries, sleep=self.sleep, clock=lambda: self.now, rng=random.Random(3)
        )


def _started(flaky: Any) -> str:
    """A run on the server (made directly in its store), its id."""
    experiment = flaky.served.create_experiment("retries")
    return str(flaky.served.create_run(experiment.id, "r").id)


def _points(step: int) -> list[MetricPoint]:
    return [MetricPoint("loss", 1.0 / (step + 1), step, 1_000 + step)]


# ------------------------------------------------------------------ the policy


def test_backoff_doubles_with_jitter_up_to_a_cap_within_the_budget() -> None:
    clock = FakeTime()
    budget = clock.budget(60, retries=8)
    while budget.wait():
        pass
    assert len(clock.slept) == 8 and budget.attempts == 9
    for n, slept in enumerate(clock.slept):
        base = min(MAX_DELAY, FIRST_DELAY * 2**n)
        assert base / 2 <= slept <= base
    assert len(set(clock.slept)) == 8  # drawn, not fixed: clients that failed together spread


def test_the_time_budget_bounds_the_retries() -> None:
    clock = FakeTime()
    budget = clock.budget(5)
    while budget.wait():
        pass
    assert sum(clock.slept) == pytest.approx(5)  # the last sleep is cut to what is left
    assert budget.wait() is False


def test_retry_after_is_waited_for_and_one_past_the_budget_gives_up_at_once() -> None:
    clock = FakeTime()
    budget = clock.budget(10)
    assert budget.wait(asked=3.0) and clock.slept == [3.0]
    assert budget.wait(asked=0.0) and clock.slept[1] > 0  # never below the back-off
    assert budget.wait(asked=60.0) is False
    assert len(clock.slept) == 2


def test_no_retries_when_either_limit_is_zero() -> None:
    assert FakeTime().budget(0).wait() is False
    assert FakeTime().budget(30, retries=0).wait() is False


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    assert retry_after({"retry-after": "5"}) == 5.0
    assert retry_after({"retry-after": " 0.5 "}) == 0.5
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after({"retry-after": later}, now=now) == 30.0
    assert retry_after({"retry-after": "-4"}) == 0.0
    for unreadable in ("soon", "", "nan", "inf"):
        assert retry_after({"retry-after": unreadable}) is None
    assert retry_after({}) is None


@pytest.mark.parametrize(
    ("setting", "value"), [("http_retry_seconds", "-1"), ("http_retries", "-2")]
)
def test_negative_retry_settings_are_refused_naming_the_setting(
    tmp_path: Path, setting: str, value: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(home=tmp_path, **{setting: value})
    assert refused.value.field == setting


# ------------------------------------------------------------------ through a proxy


def test_reads_ride_out_503s(flaky: Any) -> None:
    run_id = _started(flaky)
    flaky.faults.plan = ["error", "error", "error"]
    assert flaky.rest.get_run(run_id).id == run_id
    assert [fate for _, _, fate in flaky.faults.seen] == ["error"] * 3 + ["forward"]


def test_reads_are_repeated_when_the_answer_was_lost(flaky: Any) -> None:
    run_id = _started(flaky)
    flaky.faults.plan = ["error-after", "reset"]
    assert flaky.rest.get_run(run_id).id == run_id
    assert len(flaky.faults.seen) == 3


@pytest.mark.parametrize("fate", ["error-after", "reset"])
def test_a_metric_batch_that_reached_the_server_is_never_sent_again(flaky: Any, fate: str) -> None:
    run_id = _started(flaky)
    flaky.faults.plan = [fate]
    with pytest.raises(ServiceUnavailable):
        flaky.rest.log_batch(run_id, _points(0), params={"lr": "0.1"})
    assert [(m, f) for m, _, f in flaky.faults.seen] == [("POST", fate)]
    # the server stored it once; a retry would have stored the points twice
    assert [p.step for p in flaky.served.get_metric_history(run_id, "loss")] == [0]
    assert flaky.served.get_run(run_id).params == {"lr": "0.1"}


def test_a_new_run_refused_with_503_is_not_repeated(flaky: Any) -> None:
    experiment = flaky.served.create_experiment("retries")
    flaky.faults.plan = ["error"]
    with pytest.raises(ServiceUnavailable, match="metadata database"):
        flaky.rest.create_run(experiment.id, "r")
    assert len(flaky.faults.seen) == 1
    assert flaky.served.search_runs([experiment.id]).runs == []


def test_a_blob_upload_rides_out_503s_and_resets_and_is_stored_once(
    flaky: Any, tmp_path: Path
) -> None:
    source = tmp_path / "weights.bin"
    source.write_bytes(bytes(range(256)) * 400)
    flaky.rest.server_info()  # read once, before the PUT the plan is for
    flaky.faults.plan = ["error", "reset", "error-after"]
    digest = flaky.rest.put_blob(source)
    assert [f for m, _, f in flaky.faults.seen if m == "PUT"] == [
        "error",
        "reset",
        "error-after",
        "forward",
    ]
    assert flaky.served.fetch_blob(digest).read_bytes() == source.read_bytes()


def test_a_write_waits_for_a_server_that_refuses_connections(flaky: Any) -> None:
    run_id = _started(flaky)
    flaky.proxy.stop()  # nothing listens: connections are refused, nothing is sent
    fresh = flaky.connect()  # no pooled connection to the old listener
    back = threading.Timer(0.5, flaky.proxy.start)
    back.start()
    try:
        fresh.log_batch(run_id, _points(7))
    finally:
        back.join()
    assert [p.step for p in flaky.served.get_metric_history(run_id, "loss")] == [7]
    assert [(m, f) for m, _, f in flaky.faults.seen] == [("POST", "forward")]


def test_a_spent_budget_names_the_server_and_its_last_answer(flaky: Any) -> None:
    run_id = _started(flaky)
    flaky.faults.default = "error"
    hurried = flaky.connect(http_retry_seconds=0.5)
    with pytest.raises(ServiceUnavailable) as spent:
        hurried.get_run(run_id)
    message = spent.value.message
    assert f"Shipyard server at {flaky.proxy.url}/api/v1" in message
    assert "503 Service Unavailable" in message and "metadata database" in message
    assert "SHIPYARD_HTTP_RETRY_SECONDS=0.5" in message
    assert spent.value.details["status"] == 503
    assert re.search(r"after \d+ attempts? over \d+\.\ds", message), message


def test_a_retry_after_longer_than_the_budget_fails_at_once(flaky: Any) -> None:
    run_id = _started(flaky)
    flaky.faults.error = Answer(503, b"overloaded", {"Retry-After": "120"})
    flaky.faults.plan = ["error"]
    with pytest.raises(ServiceUnavailable, match="asking to retry after 120s"):
        flaky.rest.get_run(run_id)
    assert len(flaky.faults.seen) == 1


def test_a_server_error_that_is_not_temporary_is_not_repeated(flaky: Any) -> None:
    run_id = _started(flaky)
    flaky.faults.error = Answer(500, b"boom")
    flaky.faults.plan = ["error"]
    with pytest.raises(ServiceUnavailable, match="500"):
        flaky.rest.get_run(run_id)
    assert len(flaky.faults.seen) == 1


def test_an_unreachable_server_is_named_with_the_attempts(flaky: Any) -> None:
    flaky.proxy.stop()
    hurried = flaky.connect(http_retry_seconds=0.3)
    with pytest.raises(ServiceUnavailable) as unreachable:
        hurried.list_experiments()
    message = unreachable.value.message
    assert f"cannot reach the Shipyard server at {flaky.proxy.url}/api/v1" in message
    assert re.search(r"\d+ attempts? over \d+\.\ds", message), message
    assert "SHIPYARD_TRACKING_URI" in message
