"""Compiled bytecode kept for the suite's processes where the machine turns it off.

Some machines (this project's shared ones among them) set ``PYTHONDONTWRITEBYTECODE``, under
which every Python process compiles every module it imports from source: pandas,
scikit-learn, FastAPI and SQLAlchemy then take 2-3x their usual import time (about 10 CPU
seconds instead of 4). The suite starts hundreds of Python processes (the xdist workers,
model servers and their workers, CLI and crash-harness children, process-pool workers), so
recompiling in each cost minutes of the run.

Under that setting, ``tests/conftest.py`` calls :func:`cache_bytecode` before it imports
anything heavy (pytest imports it before any plugin's ``pytest_configure``, which would come
too late for the main process's own imports: 9 CPU seconds of compiling them instead of 4).
The test process and every process it starts (the xdist workers and their children inherit
the environment) then write and read bytecode under ``.pytest_cache/pycache`` in the
repository (``PYTHONPYCACHEPREFIX``), outside the source folders: no ``__pycache__`` appears
beside the sources, which is what the setting is there for. Without the setting, nothing
changes (bytecode is cached where Python normally caches it). A ``PYTHONPYCACHEPREFIX`` the
user set is kept.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_bytecode(root: Path) -> None:
    """Under ``PYTHONDONTWRITEBYTECODE``, write and read bytecode under
    ``root/.pytest_cache/pycache`` in this process and every process it starts (also what
    ``bench/crash.py`` calls, whose writers and checks import the same libraries)."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return
    prefix = os.environ.get("PYTHONPYCACHEPREFIX") or str(root / ".pytest_cache" / "pycache")
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    # This process too, for what it imports from now on (collection imports most of it).
    sys.pycache_prefix = prefix
    sys.dont_write_bytecode = False
