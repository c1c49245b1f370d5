"""Ending runs cleanly when the process is told to stop with SIGTERM.

``docker stop``, Kubernetes and Slurm stop a job with SIGTERM, whose default ends the process
at once: no ``finally`` block and no atexit hook runs, so buffered metrics were lost and the
runs stayed RUNNING. While a run is active this handler is installed (from the main thread,
the only one where Python can install handlers and where it runs them). It writes every
buffered metric, then:

- when another handler was set before (by the user or a framework), calls it. If it raises
  (``sys.exit``, KeyboardInterrupt ...), the active runs are marked KILLED before the exception
  goes on; if it returns, the process goes on and so do its runs (a handler that asks a
  training loop to stop early lets the runs end normally);
- otherwise marks the active runs KILLED and ends the process by SIGTERM as the default would
  (exit status 128 + 15).

The previous handler is put back when the last run ends. An ignored SIGTERM stays ignored.

A SIGTERM that arrives while the main thread writes (metric points, a run's end, any store
transaction: see :mod:`shipyard._critical`) is held until that write is done: the handler
runs in the main thread, so acting at once would stop the process with a batch taken from
the buffer but not yet stored, or a run's points written and its status not, or wait
forever for a lock the interrupted write holds.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from shipyard import _critical

_previous: Any = signal.SIG_DFL
_flush: Callable[[], None] | None = None
_kill: Callable[[], None] | None = None
_handling = False


def install(flush: Callable[[], None], kill: Callable[[], None]) -> bool:
    """Handle SIGTERM with ``flush`` (write buffered metrics) and ``kill`` (mark the active
    runs KILLED), chaining the handler set now. Returns whether the handler is in place
    (not from a thread other than the main one, nor over an ignored SIGTERM)."""
    global _previous, _flush, _kill
    if threading.current_thread() is not threading.main_thread():
        return False
    current = signal.getsignal(signal.SIGTERM)
    if current is _on_sigterm:
        return True
    if current is signal.SIG_IGN or current is None:  # ignored, or set outside Python
        return False
    _previous, _flush, _kill = current, flush, kill
    signal.signal(signal.SIGTERM, _on_sigterm)
    return True


def restore() -> None:
    """Put the previous handler back, if ours is still the one set (a handler set after ours
    stays; it may chain to ours, which then still works)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is _on_sigterm:
        signal.signal(signal.SIGTERM, _previous)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _handling
    if _critical.inside() and not _handling:
        _critical.hold(lambda: _on_sigterm(signum, frame))
        return
    previous = _previous
    if _handling:  # a handler we chained to called us back: stop as the default does
        previous = signal.SIG_DFL
    _handling = True
    try:
        if _flush is not None:
            _flush()
        if callable(previous):
            try:
                previous(signum, frame)
            except BaseException:
                if _kill is not None:
                    _kill()
                raise
            return
        if _kill is not None:
            _kill()
    finally:
        _handling = False
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
