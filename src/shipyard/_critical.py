"""Sections of the main thread a SIGTERM handler must not interrupt.

Python runs signal handlers in the main thread, between two bytecodes of whatever it was
doing. A handler that writes to the store (the tracking SDK's flushes buffered metrics and
marks runs KILLED) must not run while the main thread is inside a write: the batch it took
from the buffer would be lost, and on SQLite the handler's write would wait for the lock
the interrupted transaction holds, which is never released. Writes run inside
:func:`critical`; a handler that finds one open calls :func:`hold` and its action runs as
soon as the outermost section ends.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

_depth = 0
_held: list[Callable[[], None]] = []


def _main() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """Run the block without a held handler acting inside it (other threads are never
    interrupted by handlers, so there it does nothing)."""
    global _depth
    if not _main():
        yield
        return
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        while not _depth and _held:
            _held.pop(0)()


def inside() -> bool:
    """Whether the main thread is in a critical section now."""
    return _depth > 0 and _main()


def hold(action: Callable[[], None]) -> None:
    """Run ``action`` when the current critical section ends."""
    _held.append(action)
