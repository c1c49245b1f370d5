"""Pytest plugin for the serving soak: the ``serving_soak`` fixture (bench/serving_soak.py,
which the suite runs on a short clock), and the soak's summary line, printed at the end of
the session (also under pytest-xdist, where it travels back from the worker as a user
property of the report). It also orders the session: the soak first, then slow tests."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
_KEY = "soak_summary"
_lines: list[str] = []


@pytest.fixture
def serving_soak() -> Iterator[ModuleType]:
    """bench/serving_soak.py: ``register_champion``, ``run`` and the checks of its report."""
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("serving_soak")
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture
def soak_summary(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """A list the test appends its summary to; reported with the test's result."""
    lines: list[str] = []
    yield lines
    for line in lines:
        request.node.user_properties.append((_KEY, line))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "teardown":
        _lines.extend(str(value) for key, value in report.user_properties if key == _KEY)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in _lines:
        terminalreporter.write_line(line)
