"""MLflow's own client against ``shipyard server`` and against ``mlflow server``, side by side
in one run: per-call logging, batched logging, search, and log_model + register.

Run with ``uv run --extra bench python bench/mlflow_compat.py`` (``--help`` for the knobs).
MLflow is installed in its own venv (``bench/.venvs/mlflow``); both servers run on SQLite
with local artifacts, one worker each, on fresh homes; the same child script
(``bench/_mlflow_compat_child.py``) drives each. Results go to
``bench/.work/mlflow_compat.json``; figures are in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _competitors import WORK_DIR, run_json
from server import Server
from tracking import MLFLOW

CHILD = Path(__file__).resolve().parent / "_mlflow_compat_child.py"


def measure(side: Server, mlflow_python: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Start ``side``'s server, run the child against it, stop the server."""
    side.start()
    try:
        result: dict[str, Any] = run_json(
            mlflow_python,
            script=CHILD,
            args=[json.dumps(config), str(Path(__file__).resolve().parent)],
            env={"MLFLOW_TRACKING_URI": side.url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"},
            cwd=side.home,
            timeout=3600,
        )
    finally:
        side.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="per-call log_metric calls")
    parser.add_argument("--batches", type=int, default=20, help="log_batch calls of 1000 points")
    parser.add_argument("--searches", type=int, default=20, help="search_runs calls")
    parser.add_argument("--registers", type=int, default=3, help="log_model + register calls")
    args = parser.parse_args()
    config = vars(args)
    mlflow_python = MLFLOW.ensure()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, python in (("shipyard", Path(sys.executable)), ("mlflow", mlflow_python)):
            home = Path(tmp) / name
            home.mkdir()
            results[name] = measure(Server(name, python, home), mlflow_python, config)
    print(f"{'operation':22} {'shipyard p50 ms':>16} {'mlflow p50 ms':>14} {'ratio':>7}")
    for op, theirs in results["mlflow"].items():
        ours = results["shipyard"][op]
        ratio = theirs["p50_ms"] / ours["p50_ms"]
        print(f"{op:22} {ours['p50_ms']:16.2f} {theirs['p50_ms']:14.2f} {ratio:6.1f}x")
    record = {"config": config, "load": os.getloadavg(), "results": results}
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    (WORK_DIR / "mlflow_compat.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
