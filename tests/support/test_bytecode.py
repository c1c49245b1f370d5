"""The processes the suite starts cache their bytecode (tests/support/bytecode.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard
import shipyard.client


def test_a_child_process_caches_bytecode_outside_the_sources() -> None:
    probe = "import sys; print(sys.flags.dont_write_bytecode, sys.pycache_prefix or '')"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out[0] == "0", "a child of the suite recompiles every module it imports"
    if len(out) > 1:  # a cache folder, never the source folders
        sources = Path(shipyard.__file__).resolve().parent
        assert not Path(out[1]).resolve().is_relative_to(sources)


def test_what_the_conftest_imports_is_cached_too() -> None:
    """Modules imported while pytest loads ``tests/conftest.py`` (before any plugin's
    ``pytest_configure``) were found with the cache already on: their bytecode goes to the
    cache folder, not compiled afresh by every pytest process. (An xdist worker inherits the
    cache from the start; ``-n 0`` shows whether the conftest turns it on in time.)"""
    prefix = sys.pycache_prefix
    if not prefix:
        assert not os.environ.get("PYTHONDONTWRITEBYTECODE")
        pytest.skip("bytecode is cached beside the sources on this machine")
    assert shipyard.client.__cached__ is not None
    assert Path(shipyard.client.__cached__).is_relative_to(prefix)
