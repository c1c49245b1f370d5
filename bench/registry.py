"""Model registry: Shipyard vs MLflow, measured in the same run on this machine.

Run with ``uv run --extra bench python bench/registry.py`` (``--help`` for the knobs). MLflow
lives in its own venv under ``bench/.venvs/mlflow`` (the same pins as ``bench/tracking.py``).
Each side runs in a fresh subprocess with a fresh home on SQLite; ``bench/_registry_child.py``
holds the measured calls and says exactly what each one does. The model is a 100-tree random
forest on scikit-learn's bundled breast-cancer data. Results go to ``bench/.work/registry.json``.

Targets (issue 4): log + register at least 10x faster than MLflow's default path (which infers
pip requirements) and still faster than MLflow given explicit requirements, with requirements
captured; load by alias at least 2x faster than MLflow, with hash verification on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _competitors import WORK_DIR, run_json
from tracking import MLFLOW, WIDTH, Row, compare, machine, render

CHILD = Path(__file__).resolve().parent / "_registry_child.py"
console = Console(stderr=True, width=WIDTH)


def child(python: Path, tool: str, **kwargs: Any) -> dict[str, Any]:
    """One side's measurements in a fresh process and a fresh home."""
    with tempfile.TemporaryDirectory(prefix=f"{tool}-", dir=WORK_DIR) as tmp:
        payload = json.dumps({"home": str(Path(tmp) / "home"), **kwargs})
        out: dict[str, Any] = run_json(python, script=CHILD, args=[tool, payload], timeout=3600)
    result = out["result"]
    console.log(
        f"{tool:8} {kwargs.get('requirements') or '':8} log+register "
        f"{result['log_register']['median_seconds'] * 1000:8.1f} ms, load by alias "
        f"{result['load_alias']['median_seconds'] * 1000:6.1f} ms"
    )
    return out


def rows(default: dict[str, Any], explicit: dict[str, Any], ours: dict[str, Any]) -> list[Row]:
    def median(side: dict[str, Any], key: str) -> float:
        return float(side["result"][key]["median_seconds"])

    def first(side: dict[str, Any], key: str) -> float:
        return float(side["result"][key]["first_seconds"])

    return [
        compare("log + register (MLflow default: infers requirements)",
                median(default, "log_register"), median(ours, "log_register"),
                minimum=10, rate=False),
        compare("log + register (MLflow given explicit requirements)",
                median(explicit, "log_register"), median(ours, "log_register"),
                minimum=1, rate=False),
        compare("load by alias (Shipyard verifies every sha256)",
                median(explicit, "load_alias"), median(ours, "load_alias"),
                minimum=2, rate=False),
        compare("first log + register in the process (imports included)",
                first(default, "log_register"), first(ours, "log_register"),
                minimum=None, rate=False),
        compare("first load by alias (Shipyard fills its cache)",
                first(explicit, "load_alias"), first(ours, "load_alias"),
                minimum=None, rate=False),
        Row("non-loopback connects + DNS",
            f"{sum(s['network']['non_loopback_count'] for s in (default, explicit)):,}",
            f"{ours['network']['non_loopback_count']:,}", None, "Shipyard 0",
            ours["network"]["non_loopback_count"] == 0),
    ]  # fmt: skip


def through_servers(mlflow: Path, sizes: dict[str, int]) -> dict[str, Any]:
    """Both sides again, each through its own server (defaults, SQLite, on this machine);
    MLflow given explicit requirements, its fastest path."""
    from server import Server

    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="registry-servers-", dir=WORK_DIR) as tmp:
        for name, python in (("mlflow", mlflow), ("shipyard", Path(sys.executable))):
            home = Path(tmp) / name
            home.mkdir()
            server = Server(name, python, home)
            server.start()
            try:
                reqs = "explicit" if name == "mlflow" else None
                found[name] = child(python, name, requirements=reqs, url=server.url, **sizes)
            finally:
                server.stop()
    return found


def remote_rows(ml: dict[str, Any], ours: dict[str, Any]) -> list[Row]:
    def median(side: dict[str, Any], key: str) -> float:
        return float(side["result"][key]["median_seconds"])

    return [
        compare("through the server: log + register (MLflow explicit requirements)",
                median(ml, "log_register"), median(ours, "log_register"),
                minimum=None, rate=False),
        compare("through the server: load by alias",
                median(ml, "load_alias"), median(ours, "load_alias"),
                minimum=None, rate=False),
    ]  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--repeat", type=int, default=5, help="timed log+register calls per side")
    p.add_argument("--loads", type=int, default=20, help="timed loads by alias per side")
    p.add_argument(
        "--remote",
        action="store_true",
        help="also measure both through their servers (mlflow server / shipyard server)",
    )
    p.add_argument("--out", type=Path, default=WORK_DIR / "registry.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    started, load_before = time.perf_counter(), os.getloadavg()
    console.log(f"MLflow venv: {MLFLOW.venv} ({', '.join(MLFLOW.requirements)})")
    mlflow = MLFLOW.ensure()
    sizes = {"repeat": args.repeat, "loads": args.loads}
    default = child(mlflow, "mlflow", requirements=None, **sizes)
    explicit = child(mlflow, "mlflow", requirements="explicit", **sizes)
    ours = child(Path(sys.executable), "shipyard", **sizes)
    table_rows = rows(default, explicit, ours)
    remote: dict[str, Any] = {}
    if args.remote:
        remote = through_servers(mlflow, sizes)
        table_rows += remote_rows(remote["mlflow"], remote["shipyard"])
    table = render(table_rows)
    table.title = "Model registry: Shipyard vs MLflow"
    Console(width=WIDTH).print(table)
    record = {
        "machine": machine(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "mlflow_requirements": list(MLFLOW.requirements),
        "rows": [r.__dict__ for r in table_rows],
        "children": {"mlflow_default": default, "mlflow_explicit": explicit, "shipyard": ours},
        "remote": remote,
        "total_seconds": time.perf_counter() - started,
    }
    args.out.write_text(json.dumps(record, indent=2))
    console.log(f"wrote {args.out} after {record['total_seconds']:.0f} s")
    return 0 if all(r.passed is not False for r in table_rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
