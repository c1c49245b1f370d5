"""ActiveRun: a run being recorded, used as a context manager.

Leaving the ``with`` block normally marks the run FINISHED, an exception marks it FAILED and
Ctrl-C (KeyboardInterrupt) or SIGTERM marks it KILLED; buffered metrics are written first in
every case. While any run is active, a SIGTERM handler is installed (see ``_signals``).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from shipyard import _critical
from shipyard.entities import ArtifactInfo, Run, RunStatus
from shipyard.errors import InvalidArgument
from shipyard.tracking import _signals
from shipyard.tracking._buffer import flush_all
from shipyard.tracking._client import Client
from shipyard.tracking._environment import environment_of
from shipyard.tracking._objects import write_object

_stack: list[ActiveRun] = []
_stack_lock = threading.Lock()


def active_stack() -> list[ActiveRun]:
    """The runs started with ``start_run`` and not yet ended, innermost last."""
    return _stack


class ActiveRun:
    """A run in progress. Its ``log_*`` methods write to this run only."""

    def __init__(self, client: Client, run: Run) -> None:
        self.client = client
        self.id = run.id
        self.experiment_id = run.experiment_id
        self.name = run.name
        self.parent_run_id = run.parent_run_id
        #: The environment facts the run recorded (git commit, Python, packages ...), which
        #: the runs nested under it record too.
        self.environment = environment_of(run.tags)
        self._ended = False

    def __repr__(self) -> str:
        return f"<ActiveRun {self.name!r} id={self.id}>"

    @property
    def info(self) -> Run:
        """The run as stored now (params, tags, latest metrics)."""
        return self.client.get_run(self.id)

    # -------------------------------------------------------------- logging

    def log_param(self, key: str, value: Any) -> None:
        """Record a param; logging a different value for the same key is an error."""
        self.client.log_params(self.id, {key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record several params at once."""
        self.client.log_params(self.id, params)

    def log_metric(
        self, key: str, value: float, step: int = 0, timestamp: int | None = None
    ) -> None:
        """Record a metric value at ``step`` (history is kept)."""
        self.client.log_metric(self.id, key, value, step, timestamp)

    def log_metrics(
        self, metrics: Mapping[str, float], step: int = 0, timestamp: int | None = None
    ) -> None:
        """Record several metric values at one step."""
        self.client.log_metrics(self.id, metrics, step, timestamp)

    def set_tag(self, key: str, value: Any) -> None:
        """Set a tag (tags may change)."""
        self.client.set_tags(self.id, {key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set several tags."""
        self.client.set_tags(self.id, tags)

    def log_artifact(self, obj: Any, name: str | None = None) -> list[ArtifactInfo]:
        """Store a file or folder (given by path) or an object (dict, DataFrame, figure...).

        Objects need a ``name``, the path in the run's artifact tree (``plots/roc``); the
        format's suffix is added when the name has none.
        """
        if isinstance(obj, Path) or (isinstance(obj, str) and name is None):
            path = Path(obj)
            if not path.exists():
                raise InvalidArgument(
                    f"no such file or folder: {path}; to log text, pass a name too", field="obj"
                )
            return self.client.log_artifact(self.id, path, name)
        if name is None:
            raise InvalidArgument(
                f"logging a {type(obj).__name__} needs a name, e.g. name='summary'", field="name"
            )
        with tempfile.TemporaryDirectory(prefix="shipyard-artifact-") as tmp:
            written = write_object(obj, Path(tmp), Path(name).name)
            target = str(Path(name).with_name(written.name))
            return self.client.log_artifact(self.id, written, target)

    # -------------------------------------------------------------- lifecycle

    def end(self, status: RunStatus = RunStatus.FINISHED, reason: str | None = None) -> None:
        """Write buffered metrics, then record the end time and final status (once);
        ``reason`` says why, when something other than the code ended the run."""
        if self._ended:
            return
        self._ended = True
        try:
            with _critical.critical():  # a SIGTERM waits until the end is recorded
                self.client.finish_run(self.id, status, reason)
        finally:
            with _stack_lock:
                if self in _stack:
                    _stack.remove(self)
                last = not _stack
            if last:
                _signals.restore()

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        self.end(status)


_start_hooks: list[Callable[[ActiveRun], None]] = []


def on_run_start(hook: Callable[[ActiveRun], None]) -> None:
    """Call ``hook(run)`` whenever a run becomes active (started or resumed).

    Other SDK areas use it to link a run to what started it, e.g. pipelines record that a
    step run produced the tracking runs started inside it.
    """
    if hook not in _start_hooks:
        _start_hooks.append(hook)


def push(run: ActiveRun) -> None:
    """Make ``run`` the innermost active run (the first one installs the SIGTERM handler)."""
    with _stack_lock:
        _stack.append(run)
        first = len(_stack) == 1
    if first:
        _install_handler()
    for hook in list(_start_hooks):
        hook(run)


@contextlib.contextmanager
def starting() -> Iterator[None]:
    """Create (or resume) a run and make it active as one step a SIGTERM cannot split.

    The handler is in place before the run is written, and the block is a critical section:
    a SIGTERM that arrives while the run is created acts once it is active, so the run is
    marked KILLED. Before, a SIGTERM between the run's commit and its activation stopped
    the process by the default action and left the run RUNNING (found by the crash harness).
    When the block fails, the handler goes again unless another run is still active.
    """
    _install_handler()
    try:
        with _critical.critical():
            yield
    finally:
        with _stack_lock:
            idle = not _stack
        if idle:
            _signals.restore()


def _install_handler() -> None:
    _signals.install(flush=lambda: flush_all(timeout=10), kill=_kill_on_sigterm)


def end_all(status: RunStatus, reason: str | None = None) -> None:
    """End every active run, innermost first (the process is stopping): report, never raise."""
    for run in reversed(list(_stack)):
        try:
            run.end(status, reason)
        except Exception as exc:
            print(f"shipyard: could not end run {run.id}: {exc}", file=sys.stderr)


def _kill_on_sigterm() -> None:
    end_all(RunStatus.KILLED, "the process received SIGTERM")
