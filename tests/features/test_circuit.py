"""The circuit breaker of the Redis online store: after a timeout, calls are refused at once
until ``OPEN_SECONDS`` have passed; then one call at a time tries the backend again, and an
answer closes the circuit while another timeout opens it anew. (Against a real hung Redis:
tests/faults/test_redis_down.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.config import load_settings
from shipyard.errors import ConfigError
from shipyard.features._circuit import OPEN_SECONDS, Circuit, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_timeout_refuses_calls_until_the_pause_is_over() -> None:
    clock = Clock()
    circuit = Circuit(clock)
    circuit.before()  # closed: calls go ahead
    circuit.timed_out()
    clock.now += OPEN_SECONDS / 2
    with pytest.raises(CircuitOpen) as refused:
        circuit.before()
    assert refused.value.retry_in == pytest.approx(OPEN_SECONDS / 2)
    clock.now += OPEN_SECONDS / 2
    circuit.before()  # the probe goes ahead ...
    with pytest.raises(CircuitOpen):
        circuit.before()  # ... alone
    circuit.answered()
    assert not circuit.is_open
    circuit.before()
    circuit.before()


def test_a_probe_that_times_out_opens_the_circuit_again() -> None:
    clock = Clock()
    circuit = Circuit(clock)
    circuit.timed_out()
    clock.now += OPEN_SECONDS
    circuit.before()
    circuit.timed_out()
    with pytest.raises(CircuitOpen):
        circuit.before()
    clock.now += OPEN_SECONDS
    circuit.before()


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_the_online_store_timeout_must_be_positive(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(home=tmp_path, online_store_timeout=value)
    assert refused.value.field == "online_store_timeout"
