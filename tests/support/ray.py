"""Pytest plugin: one local Ray instance per test process, shared by every Ray test (Ray
takes a while to start on 2 cores, and a process can only be connected to one Ray).

Every test that uses Ray is in the ``xdist_group`` "ray" (tests/support/placement.py), so
under ``--dist loadgroup`` (the suite's default) they all run on one xdist worker and Ray
starts once per session instead of once on each worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ray_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The ``ray`` module, connected to a local 2-CPU Ray whose workers import ``tests``.

    Workers run this virtualenv's Python: under ``uv run`` Ray would otherwise build a new
    environment for them from the project (slow, and without the extras). Workers start in
    a folder of their own, so files they write never land in the repository."""
    ray = pytest.importorskip("ray")
    from ray._private import ray_constants

    ray_constants.RAY_ENABLE_UV_RUN_RUNTIME_ENV = False
    if not ray.is_initialized():
        here = os.getcwd()
        os.chdir(tmp_path_factory.mktemp("ray-workers"))
        try:
            ray.init(
                num_cpus=2,
                include_dashboard=False,
                log_to_driver=False,
                runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
            )
        finally:
            os.chdir(here)
    yield ray
    ray.shutdown()
