"""Pytest plugin: ``frozen_clock`` (wall-clock time fixed where a test puts it, in every
thread) and ``local_timezone`` (the process's local time zone switched for one test), for
behaviour that depends on the date, such as partitions that change at midnight."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest


class FrozenClock:
    """``time.time()`` answers ``ms`` (epoch milliseconds) until moved."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ms = int(time.time() * 1000)
        monkeypatch.setattr(time, "time", lambda: self.ms / 1000)

    def set(self, when: datetime | int) -> int:
        """Stop the clock at ``when`` (an aware datetime, or epoch ms); returns epoch ms."""
        self.ms = int(when.timestamp() * 1000) if isinstance(when, datetime) else int(when)
        return self.ms

    def at_utc(self, *parts: int) -> int:
        """Stop the clock at a UTC time given as (year, month, day[, hour, minute, second,
        microsecond]); returns epoch ms."""
        return self.set(datetime(*parts, tzinfo=UTC))  # type: ignore[misc]

    def advance(self, ms: int) -> int:
        """Move the clock ``ms`` milliseconds on; returns the new time."""
        self.ms += ms
        return self.ms


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """Wall-clock time stopped (at the current time until the test moves it)."""
    return FrozenClock(monkeypatch)


@pytest.fixture
def local_timezone() -> Iterator[Callable[[str], None]]:
    """Switches the process's local time zone (``"Pacific/Kiritimati"``) until the test
    ends."""
    before = os.environ.get("TZ")

    def switch(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield switch
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()
