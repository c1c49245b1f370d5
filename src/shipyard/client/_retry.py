"""When and how long the REST client waits before repeating a server call.

A call is repeated while its time budget lasts (``http_retry_seconds``, 30 s by default,
counted from the first attempt) and at most ``http_retries`` times, after a delay that doubles
from 0.25 s up to 8 s, each drawn at random between half and all of it (jitter: clients
that failed together do not all come back together). A server (or a proxy in front of it)
that sends ``Retry-After`` is waited for as long as it asks; if that is longer than what is
left of the budget, the call gives up at once rather than sleep and fail.

Which answers are worth repeating is decided here too (``RETRY_STATUSES``); whether a call
may be repeated at all once it may have reached the server is the caller's (``Http``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: Answers that say "not now" rather than "no": too many requests, a proxy without a working
#: upstream (bad gateway, gateway timeout), and the server's own 503 (its database or object
#: store unreachable, or overloaded).
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: The first back-off delay and the longest, in seconds.
FIRST_DELAY, MAX_DELAY = 0.25, 8.0


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """The seconds a ``Retry-After`` header asks for (a number of seconds or an HTTP date),
    never negative; None when there is none or it cannot be read."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    text = raw.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds == float("inf"):  # NaN, inf: not a usable delay
        return None
    return max(0.0, seconds)


class RetryBudget:
    """The retries left to one call: ``wait`` sleeps before the next attempt, or says that
    the budget is spent.

    Args:
        seconds: The time budget, from the first attempt (0: never retry).
        retries: The most retries (0: never retry).
        sleep: How to wait (``time.sleep``).
        clock: A monotonic clock in seconds (``time.monotonic``).
        rng: Draws the jitter.
    """

    def __init__(
        self,
        seconds: float,
        retries: int,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.seconds = seconds
        self.retries = retries
        self.attempts = 1
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._started = clock()

    @property
    def elapsed(self) -> float:
        """Seconds since the first attempt."""
        return self._clock() - self._started

    def next_delay(self, asked: float | None = None) -> float | None:
        """The seconds to wait before the next attempt (``asked``: what ``Retry-After``
        asked for), or None when the budget does not allow one."""
        left = self.seconds - self.elapsed
        if self.attempts > self.retries or left <= 0:
            return None
        base = min(MAX_DELAY, FIRST_DELAY * 2 ** (self.attempts - 1))
        delay = self._rng.uniform(base / 2, base)
        if asked is not None:
            if asked > left:
                return None
            delay = max(delay, asked)
        return min(delay, left)

    def wait(self, asked: float | None = None) -> bool:
        """Sleep before the next attempt and count it; False (at once) when the budget is
        spent."""
        delay = self.next_delay(asked)
        if delay is None:
            return False
        self._sleep(delay)
        self.attempts += 1
        return True
