"""Pytest plugin: one BLAS/OpenMP thread per test process, and per process it starts.

The suite runs two workers on two cores (``-n 2``), and NumPy's OpenBLAS and scikit-learn's
OpenMP each start a pool of one thread per core whose idle threads spin. Two workers times
two pools oversubscribe the cores, and on a machine that is also busy with anything else
the spinning threads starve the ones doing the work: fitting a logistic regression on the
breast-cancer data took 50 s instead of 2.5 s on a loaded 2-core machine. The model server
limits its own pools the same way (``ServingConfig.threads``).

The variables cover libraries loaded later and every subprocess (servers, CLI runs, Ray
workers); threadpoolctl covers the pools already loaded when the plugin runs.
"""

from __future__ import annotations

import os

import pytest

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pytest_configure(config: pytest.Config) -> None:
    """Limit the thread pools, unless the caller set a limit of their own."""
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=int(os.environ["OMP_NUM_THREADS"]))
