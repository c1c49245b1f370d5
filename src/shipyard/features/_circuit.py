"""A circuit breaker for a backend that may hang: after a call times out, the following calls
fail at once for a few seconds instead of each waiting out its own timeout; then one call at a
time tries the backend again, and the first that gets an answer closes the circuit.

The online store is read on a request's latency path: a Redis that stopped answering (a
SIGSTOP, a full network buffer, a host gone away without a reset) must cost one timeout, not
one per lookup.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Seconds the circuit stays open after a timeout before a call may try the backend again.
OPEN_SECONDS = 5.0


class CircuitOpen(Exception):
    """A call refused without trying, because the backend timed out moments ago."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"not tried again for {retry_in:.1f}s")
        self.retry_in = retry_in


class Circuit:
    """Whether calls to one backend may go ahead (thread-safe).

    Call ``before()`` ahead of each call (it raises :class:`CircuitOpen` while open, and lets
    one caller through, the probe, once ``OPEN_SECONDS`` have passed), then ``answered()``
    when the backend answered (even with an error: it is not hung) or ``timed_out()``.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._opened_at: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        """True while calls are being refused (or a probe is out)."""
        return self._opened_at is not None

    def before(self) -> None:
        """Let a call go ahead, or raise :class:`CircuitOpen`."""
        with self._lock:
            if self._opened_at is None:
                return
            left = self._opened_at + OPEN_SECONDS - self._clock()
            if left > 0 or self._probing:
                raise CircuitOpen(max(left, 0.0))
            self._probing = True  # this call tries the backend; the others still fail fast

    def answered(self) -> None:
        """The backend answered: close the circuit."""
        with self._lock:
            self._opened_at = None
            self._probing = False

    def timed_out(self) -> None:
        """The backend did not answer in time: open the circuit (again) from now."""
        with self._lock:
            self._opened_at = self._clock()
            self._probing = False
