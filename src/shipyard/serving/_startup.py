"""Starting a model server or refusing to: the reference checked before anything starts, and
a model that fails to load at start stopping the server with the reason.

``serve`` checks the reference first (:func:`check_reference`): a name, alias or version the
registry does not have, or a folder that holds no model, is a NotFound naming the nearest
names, before a socket is bound or a worker started. The model itself loads once the server
runs (so liveness answers at once); if that first load fails, the process (or, with
several workers, the worker) reports the reason through a :class:`StartFailure` and stops the
server gracefully, and ``serve`` raises the reason: `shipyard serve` exits 1 instead of
answering 503 forever.

With several workers the reason travels in a file the supervisor names in the environment
(``SHIPYARD_SERVE_FAILURE``); the failing worker writes it and sends SIGTERM to the supervisor
(and only to the process that named itself in ``SHIPYARD_SERVE_SUPERVISOR``), which stops
every worker. In one process, the SIGTERM the failure sends is consumed here, so it ends
the server like Ctrl-C would but never kills the process; a SIGTERM from anyone else still
ends it as before.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from shipyard.errors import NotFound, ServiceUnavailable

_FAILURE_ENV = "SHIPYARD_SERVE_FAILURE"
_SUPERVISOR_ENV = "SHIPYARD_SERVE_SUPERVISOR"


def model_folder(ref: str) -> Path | None:
    """The folder ``ref`` names, when it names a local model folder rather than the
    registry."""
    if ref.startswith(("/", "./", "../", "~", "file://")):
        return Path(ref.removeprefix("file://")).expanduser().resolve()
    return None


def near(name: str, known: list[str]) -> str:
    """``; did you mean 'x'?`` for the names of ``known`` close to ``name`` (or '')."""
    found = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if not found:
        return ""
    return "; did you mean " + " or ".join(repr(f) for f in found) + "?"


def check_reference(ref: str) -> None:
    """Refuse a reference that cannot be served, before anything starts: NotFound naming what
    is missing (with the nearest names), InvalidArgument for a malformed reference."""
    folder = model_folder(ref)
    if folder is not None:
        if not folder.is_dir():
            raise NotFound(f"cannot serve {ref!r}: there is no folder {folder}", field="ref")
        return
    from shipyard.registry import parse_ref, resolve

    parsed = parse_ref(ref)
    if parsed.name is None:
        raise NotFound(f"{ref!r} does not name a registered model (use NAME@ALIAS or NAME/N)")
    try:
        resolve(parsed)
    except NotFound as exc:
        hint = _hint(parsed.name, parsed.alias, exc)
        raise NotFound(f"cannot serve {ref!r}: {exc.message}{hint}", field=exc.field) from None


def _hint(name: str, alias: str | None, exc: NotFound) -> str:
    """Near names for the part of a reference the registry does not know."""
    from shipyard.tracking import get_client

    store = get_client().store
    try:
        if exc.field == "name":
            return near(name, [m.name for m in store.list_registered_models()])
        if exc.field == "alias" and alias is not None:
            return near(alias, [*store.get_registered_model(name).aliases, "latest"])
    except Exception:  # the suggestion is a courtesy: never hide the real error behind it
        return ""
    return ""


class StartFailure:
    """How a server whose model failed to load at start stops and reports why.

    ``record(reason)`` is called by the app when the first load fails. ``reason`` afterwards
    holds it (read back from the workers' file with several workers).
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._reason: str | None = None
        self._file: Path | None = None
        self._saved_handler: Any = None

    # ---------------------------------------------------------------- the supervisor's side

    @contextlib.contextmanager
    def watching(self) -> Iterator[StartFailure]:
        """While the server runs: the environment workers report through (several workers)
        or the SIGTERM handler that consumes this process's own stop (one process)."""
        if self.workers > 1:
            fd, name = tempfile.mkstemp(prefix="shipyard-serve-failure-")
            os.close(fd)
            self._file = Path(name)
            os.environ[_FAILURE_ENV] = name
            os.environ[_SUPERVISOR_ENV] = str(os.getpid())
            try:
                yield self
            finally:
                os.environ.pop(_FAILURE_ENV, None)
                os.environ.pop(_SUPERVISOR_ENV, None)
                with contextlib.suppress(OSError):
                    self._reason = self._file.read_text() or self._reason
                self._file.unlink(missing_ok=True)
            return
        self._saved_handler = signal.getsignal(signal.SIGTERM)
        try:
            signal.signal(signal.SIGTERM, self._on_sigterm)
        except ValueError:  # not the main thread: no handler, the failure is still recorded
            self._saved_handler = None
        try:
            yield self
        finally:
            if self._saved_handler is not None:
                signal.signal(signal.SIGTERM, self._saved_handler)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        """After the server stopped: ours (a failed start) is consumed; anyone else's ends
        the process as it would have without this handler."""
        if self._reason is not None:
            return
        signal.signal(signal.SIGTERM, self._saved_handler)
        signal.raise_signal(signal.SIGTERM)

    def raise_if_failed(self, ref: str) -> None:
        """ServiceUnavailable with the reason, if the model failed to load at start."""
        if self._reason is not None:
            raise ServiceUnavailable(f"cannot serve {ref!r}: {self._reason}", field="ref")

    # ---------------------------------------------------------------- the app's side

    def record(self, reason: str) -> None:
        """The first load failed: keep the reason and stop this server (one process)."""
        self._reason = reason
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's handler stops gracefully


def report_worker_failure(reason: str) -> bool:
    """In a worker started by ``serve``: write the reason for the supervisor and ask it to
    stop every worker. False (nothing done) outside such a worker."""
    path, supervisor = os.environ.get(_FAILURE_ENV), os.environ.get(_SUPERVISOR_ENV)
    if not path or not supervisor or not supervisor.isdigit():
        return False
    if os.getppid() != int(supervisor):
        return False
    Path(path).write_text(reason)
    os.kill(int(supervisor), signal.SIGTERM)
    return True
