"""Fixtures of the tracking tests: training scripts in child processes (to stop them with
signals), and RUNNING runs recorded by a process described at will (to judge dead runs)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shipyard.client import now_ms
from shipyard.entities import Run
from shipyard.tracking import Client
from shipyard.tracking._liveness import HEARTBEAT_TAG, OWNER_TAG, Owner

#: Started before the test's code: a home in the test's folder, metrics kept in the buffer
#: (no background flush, no heartbeat) until something flushes them.
_PRELUDE = """
import os, signal, sys, time
import shipyard
shipyard.configure(flush_interval=3600, heartbeat_interval=3600, heartbeat_timeout=0)

def ready(*values):
    print(*values, flush=True)
"""


class Training:
    """A training script running in a child process, stopped by the test."""

    def __init__(self, code: str, cwd: Path) -> None:
        script = _PRELUDE + textwrap.dedent(code)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
        self.process = subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ready(self) -> list[str]:
        """The values the script printed with ``ready(...)`` (waits for that line)."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            _out, err = self.process.communicate(timeout=60)
            raise AssertionError(f"the script ended before it was ready:\n{err}")
        return line.split()

    def stop(self, signum: int) -> int:
        """Send ``signum`` and wait for the process to end; its return code."""
        self.process.send_signal(signum)
        return self.wait()

    def wait(self) -> int:
        _out, self.stderr = self.process.communicate(timeout=120)
        return self.process.returncode


@pytest.fixture
def training(sqlite_sdk: Client, tmp_path: Path) -> Iterator[Callable[[str], Training]]:
    """Start a training script (``ready(...)`` prints a line the test reads) in a child process
    that uses the same home as the test's ``sqlite_sdk``."""
    started: list[Training] = []

    def start(code: str) -> Training:
        started.append(Training(code, tmp_path))
        return started[-1]

    yield start
    for child in started:
        if child.process.poll() is None:
            child.process.kill()
            child.process.wait()


@pytest.fixture
def recorded_by(sdk: Client) -> Callable[..., Run]:
    """A RUNNING run recorded by the process ``owner`` describes (None: no owner tag), last
    heard of ``silent_s`` seconds ago."""

    def make(owner: Owner | None, silent_s: float = 0, status: str = "RUNNING") -> Run:
        experiment = sdk.store.get_or_create_experiment("dead-or-alive")
        beat = now_ms() - int(silent_s * 1000)
        tags = {HEARTBEAT_TAG: str(beat)}
        if owner is not None:
            tags[OWNER_TAG] = owner.to_tag()
        run = sdk.store.create_run(experiment.id, "recorded", start_time=beat - 60_000, tags=tags)
        if status != "RUNNING":
            sdk.store.update_run(run.id, status=status, end_time=beat)
        return sdk.store.get_run(run.id)

    return make
