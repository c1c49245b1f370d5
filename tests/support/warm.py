"""Pytest plugin: ``warm_python``, which runs a Python program as ``python ARGV`` would, in a
process forked from an interpreter that has already imported Shipyard, pandas and
scikit-learn (``tests/support/warm_child.py``).

A fresh interpreter spends 2-4 CPU seconds importing those before a documented example or a
`python -m shipyard` command does anything; the suite starts dozens of them. A child
forked from the warm interpreter starts at once, with the same ``sys.argv``, ``sys.path[0]``,
working directory, environment and standard streams, and ends the way an interpreter ends
(threads joined, ``atexit`` handlers run). It is still a process of its own: nothing it
does reaches the test process. What a fresh interpreter alone shows (what an import
loads, how the installed script finds modules, signals, start-up itself) keeps a real
subprocess.

One warm interpreter per test worker (session scope); it runs one program at a time.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("warm_child.py")
#: What the warm interpreter imports before it forks: what the programs run this way use.
#: Not ``shipyard.cli``: its consoles are sized when it is imported, from the process's own
#: stdout and COLUMNS, so each child imports it itself (Typer and Rich are warm).
MODULES = (
    "shipyard",
    "typer",
    "rich.console",
    "rich.table",
    "shipyard.tracking",
    "shipyard.registry",
    "shipyard.client",
    "shipyard.store",
    "pandas",
    "numpy",
    "sklearn.linear_model",
    "sklearn.datasets",
)
START_TIMEOUT_S = 300.0


class WarmPython:
    """The warm interpreter: :meth:`run` runs one program in a child forked from it."""

    def __init__(self, workdir: Path, modules: Sequence[str] = MODULES) -> None:
        self.workdir = workdir
        self._log = workdir / "warm.log"
        with self._log.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(CHILD), *modules],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                cwd=workdir,
                env={k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")},
            )
        self._sel = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)
        self._jobs = 0
        if self._line(START_TIMEOUT_S) != "READY":
            self.close()
            raise RuntimeError(f"the warm interpreter did not start:\n{self._log.read_text()}")

    def _line(self, timeout: float | None) -> str | None:
        assert self.proc.stdout is not None
        if not self._sel.select(timeout):
            return None
        raw = self.proc.stdout.readline()
        return raw.decode().strip() if raw else None

    def run(
        self,
        argv: Sequence[str | os.PathLike[str]],
        *,
        cwd: str | os.PathLike[str],
        env: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python ARGV`` (``argv`` as after ``python``: ``["-m", "shipyard", ...]``
        or ``["script.py", ...]``) in ``cwd`` with ``env`` (this process's environment
        when None); its exit status and output. TimeoutExpired after ``timeout`` seconds
        (the program is killed)."""
        assert self.proc.stdin is not None
        self._jobs += 1
        out, err = (self.workdir / f"{self._jobs}.{name}" for name in ("out", "err"))
        job = {
            "argv": [str(a) for a in argv],
            "cwd": str(cwd),
            "env": dict(os.environ if env is None else env),
            "out": str(out),
            "err": str(err),
        }
        self.proc.stdin.write(json.dumps(job).encode() + b"\n")
        self.proc.stdin.flush()
        reply = self._line(START_TIMEOUT_S) or ""
        if not reply.startswith("PID "):
            raise RuntimeError(f"the warm interpreter answered {reply!r}: {self._log.read_text()}")
        pid = int(reply.split()[1])
        ended = self._line(timeout)
        if ended is None:
            os.kill(pid, signal.SIGKILL)
            self._line(30)
            raise subprocess.TimeoutExpired(["python", *job["argv"]], timeout)
        code = int(ended.split()[2])
        completed = subprocess.CompletedProcess(
            ["python", *job["argv"]], code, out.read_text(errors="replace"),
            err.read_text(errors="replace"),
        )  # fmt: skip
        out.unlink()
        err.unlink()
        return completed

    def close(self) -> None:
        """Stop the warm interpreter."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._sel.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="session")
def warm_python() -> Iterator[WarmPython]:
    """One warm interpreter per test worker (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="shipyard-warm-") as folder:
        warm = WarmPython(Path(folder))
        try:
            yield warm
        finally:
            warm.close()
