"""The step and pipeline of the Ray rows of ``bench/pipelines.py``, at module level so Ray
workers can import them (``bench/`` is on their ``PYTHONPATH``), and the bare Ray task doing
the same work."""

from __future__ import annotations

from typing import Any

from shipyard.pipelines import pipeline, step


def add_one(x: int) -> int:
    """The work of every step: one addition."""
    return x + 1


@step(cache=False)
def add(x: int) -> int:
    return add_one(x)


@pipeline
def ray_chain(n: int) -> None:
    value: Any = 0
    for _ in range(n):
        value = add(value)
