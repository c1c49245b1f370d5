"""Fixtures of the CLI tests: the `shipyard` script run as a separate process, the way a
shell runs it (piped output, a fresh interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Shell = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def shell(tmp_path: Path) -> Shell:
    """Run `shipyard ARGS` in the test's folder with stdout and stderr piped (not a
    terminal, no COLUMNS); returns the finished process."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
        environ.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "shipyard", *args],
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
        )

    return run
