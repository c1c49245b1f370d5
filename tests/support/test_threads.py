"""The thread-limit plugin: test processes and the processes they start use one BLAS/OpenMP
thread each, so two workers on two cores never oversubscribe them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy  # noqa: F401  (loads OpenBLAS, whose pool the plugin limits)
from threadpoolctl import threadpool_info


def test_loaded_pools_and_subprocesses_use_one_thread() -> None:
    pools = threadpool_info()
    assert pools and {pool["num_threads"] for pool in pools} == {1}
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, numpy, threadpoolctl;"
            "print(json.dumps([p['num_threads'] for p in threadpoolctl.threadpool_info()]))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert set(json.loads(child.stdout)) == {1}
