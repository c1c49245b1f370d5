"""The layer rules of DESIGN.md hold: cli -> server -> SDK areas -> client ->
store/artifacts, and nothing below imports the CLI or the server. Checked with
import-linter on the real import graph."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_import_layers_are_kept() -> None:
    lint_imports = shutil.which("lint-imports")
    if lint_imports is None:
        pytest.fail("lint-imports is missing: install the dev extra (uv sync --all-extras)")
    done = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
