"""Pytest plugin: uv's cache able to install every locked package offline.

Several tests replay an offline install from uv's cache, as a machine without a network
would (a build context, the server image's build stage, a reproduction in a fresh
environment). ``uv sync`` fills the cache with the locked wheels but not with the package
index's pages and each wheel's metadata, which an offline install reads to find and resolve a
pinned version, so on a machine whose cache holds only what ``uv sync`` put there every such
install failed with "not found in the cache" or "needs to be downloaded". :func:`uv_offline_cache`
asks the index once per session (a dry-run install of the lock's packages, dependencies
resolved, into an empty environment); the installs the tests check stay offline.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def uv_offline_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The uv binary, with its cache holding the index pages and wheel metadata of every
    package in ``uv.lock`` (all extras), so ``uv pip install --offline`` finds them."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not installed (the README's commands install it)")
    work = tmp_path_factory.mktemp("uv-offline-cache")
    requirements = work / "requirements.txt"
    subprocess.run(
        [uv, "export", "--locked", "--all-extras", "--no-emit-project", "--no-hashes",
         "--format", "requirements-txt", "-q", "-o", str(requirements)],
        cwd=ROOT, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(work / "venv")], check=True)
    asked = subprocess.run(
        [uv, "pip", "install", "--dry-run", "-q",
         "-p", str(work / "venv" / "bin" / "python"), "-r", str(requirements)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if asked.returncode != 0:  # no index reachable: the cache may still hold the pages
        warnings.warn(f"could not ask the package index: {asked.stderr.strip()}", stacklevel=1)
    return uv
