"""The processes the suite starts cache their bytecode (tests/support/bytecode.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import shipyard


def test_a_child_process_caches_bytecode_outside_the_sources() -> None:
    probe = "import sys; print(sys.flags.dont_write_bytecode, sys.pycache_prefix or '')"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out[0] == "0", "a child of the suite recompiles every module it imports"
    if len(out) > 1:  # a cache folder, never the source folders
        sources = Path(shipyard.__file__).resolve().parent
        assert not Path(out[1]).resolve().is_relative_to(sources)
