"""The writer of the full-disk tests, run in a child process whose files cannot grow past a
limit (see ``run_capped`` in conftest.py): ``disk_writer.py SIZE`` with the home in
SHIPYARD_HOME and a SIZE-byte ``payload.bin`` next to the home.

In one process (imports are the slow part): logs ``payload.bin`` to a run, registers a model
whose weights take about SIZE bytes, then logs metric points until the database cannot grow
(at most 100,000) and ends the run. Prints one JSON line: for each of ``artifact``, ``model``
and ``metrics``, the run id, what the calls raised (class and message) and, for metrics, how
many points were logged and whether ending the run failed. Not a test module.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.preprocessing import StandardScaler

import shipyard


def _error(exc: BaseException) -> dict[str, str]:
    return {"type": type(exc).__name__, "message": str(exc)}


def _in_a_run(action: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    out: dict[str, Any] = {"errors": []}
    try:
        with shipyard.start_run() as run:
            out["run_id"] = run.id
            try:
                action(out)
            except Exception as exc:
                out["errors"].append(_error(exc))
    except Exception as exc:  # ending the run failed
        out["end_error"] = _error(exc)
    return out


def main(size: int) -> dict[str, Any]:
    """Each writer in turn; what happened to each."""
    payload = Path(os.environ["SHIPYARD_HOME"]).parent / "payload.bin"

    def metrics(out: dict[str, Any]) -> None:
        out["logged"] = 0
        for step in range(100_000):
            shipyard.log_metric("loss", 1.0 / (step + 1), step=step)
            out["logged"] = step + 1

    X = np.random.default_rng(0).normal(size=(2, size // 24))  # 3 float64 arrays per feature
    return {
        "artifact": _in_a_run(lambda out: shipyard.log_artifact(payload)),
        "model": _in_a_run(lambda out: shipyard.register_model(StandardScaler().fit(X), "wide")),
        "metrics": _in_a_run(metrics),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
