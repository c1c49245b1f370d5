"""The serving soak, bounded for the suite: `shipyard serve` as a real process, with the
prediction log on, under a mixed load for ``SHIPYARD_SOAK_SECONDS`` (10 by default).

It is bench/serving_soak.py (which runs minutes) with a shorter clock: the same server, load
generator and checks. No errors (every response 200, no client error), no lost
prediction-log rows (every answered prediction id is in the log after shutdown with all its
rows, and the server's shed counter is 0), and no memory growth after warm-up. The summary
line (requests, rate, p99, RSS) is printed at the end of the test session.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest

from shipyard.config import Settings
from shipyard.tracking import Client

# Read at import: the test fixtures clear SHIPYARD_* variables from the environment.
SECONDS = float(os.environ.get("SHIPYARD_SOAK_SECONDS", "10"))
RATE = float(os.environ.get("SHIPYARD_SOAK_RATE", "200"))


@pytest.mark.slow
@pytest.mark.soak
def test_bounded_load_loses_nothing_fails_nothing_and_leaks_nothing(
    serving_soak: ModuleType,
    sqlite_settings: Settings,
    sqlite_sdk: Client,
    tmp_path: Path,
    soak_summary: list[str],
) -> None:
    serving_soak.register_champion()
    report = serving_soak.run(
        sqlite_settings.home, tmp_path, seconds=SECONDS, rate=RATE, clients=serving_soak.CLIENTS
    )
    soak_summary.append(report.summary())
    assert report.failures() == [], report.summary()
