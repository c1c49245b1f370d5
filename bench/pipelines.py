"""Pipelines: Shipyard vs Prefect 3, measured in the same run on this machine.

Run with ``uv run --extra bench python bench/pipelines.py`` (``--help`` for the knobs).
Prefect is installed in its own venv under ``bench/.venvs/prefect`` (pinned, with a FastAPI
its server still imports), never in the project venv. Each tool runs in a fresh subprocess
with a fresh temporary home, with its default local setup (Shipyard: SQLite embedded;
Prefect: its ephemeral local API server on SQLite). ``bench/_pipelines_child.py`` holds the
measured pipelines. Results go to ``bench/.work/pipelines.json``.

Rows:

* per-step overhead: the wall time of a run of ``N`` (50) trivial chained steps, caching off,
  divided by ``N`` (median of ``--repeat`` runs): what each step of a 50-step pipeline costs,
  fixed per-run costs shared out; target: Shipyard at least 50x lower than Prefect and at most 1 ms;
* marginal cost of one more step (info): ``(t(N steps) - t(1 step)) / (N - 1)``. Prefect's
  runs have a fixed floor of about a second whatever their size, so this slope is small and
  noisy for it; it is shown for completeness, without a target;
* cached re-run: a 10-step pipeline run a second time with every step served from the cache;
  target: under 10 ms for Shipyard (Prefect shown for reference);
* the Ray rows (``--ray``, on by default): per step of a chain on Shipyard's Ray executor
  against bare ``ray.remote`` tasks doing the same addition, in one child process on one
  local Ray (2 CPUs, an 80 MB object store, started once): bare with ``ray.get`` before the
  next submit (what an orchestrator that records each step's result does), and, for
  information, bare passing ObjectRefs down the chain; target: Shipyard within 1.5x of the
  first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _competitors import WORK_DIR, Competitor, run_json

# Prefect 3.9 needs a certifi newer than the registry serves here; 3.8.8's server still uses
# Body(min_items=...), which FastAPI dropped after 0.150.
PREFECT = Competitor("prefect", ("prefect==3.8.8", "fastapi==0.150.0"))
CHILD = Path(__file__).resolve().parent / "_pipelines_child.py"
PREFECT_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_UI_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # its ephemeral API server's start-up wait (20 s by default) ran out at load 5 and above
    # on the 2-core machine, failing the run before anything was measured; start-up is not
    # part of the timings (the warm-up run pays it)
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}
WIDTH = None if sys.stdout.isatty() else 120
console = Console(stderr=True, width=WIDTH)


def child(tool: str, python: Path, args: dict[str, Any]) -> dict[str, Any]:
    """One tool's measurements in a fresh process and home."""
    with tempfile.TemporaryDirectory(prefix=f"{tool}-", dir=WORK_DIR) as tmp:
        home = Path(tmp) / "home"
        env = {**PREFECT_ENV, "PREFECT_HOME": str(home)} if tool == "prefect" else {}
        payload = json.dumps({"home": str(home), **args})
        out: dict[str, Any] = run_json(
            python, script=CHILD, args=[tool, payload], env=env, cwd=Path(tmp), timeout=1800
        )
    result = out["result"]
    chain = statistics.median(result["chain_seconds"])
    console.log(
        f"{tool:8} {len(result['chain_seconds'])} runs of the chain: median {chain * 1000:8.1f} ms;"
        f" marginal {result['per_step_seconds'] * 1000:6.2f} ms/step; cached 10-step "
        f"re-run {result['cached_rerun_median'] * 1000:8.1f} ms "
        f"(warm-up {result['warmup_seconds']:.1f} s)"
    )
    return out


def ray_child(args: dict[str, Any]) -> dict[str, Any]:
    """The Ray rows' measurements in a fresh process and home (see ``measure_ray``)."""
    with tempfile.TemporaryDirectory(prefix="ray-", dir=WORK_DIR) as tmp:
        payload = json.dumps({"home": str(Path(tmp) / "home"), **args})
        out: dict[str, Any] = run_json(
            Path(sys.executable),
            script=CHILD,
            args=["shipyard-ray", payload],
            cwd=Path(tmp),
            timeout=1800,
        )
    result = out["result"]
    console.log(
        f"ray      per step: shipyard {result['shipyard']['per_step_seconds'] * 1000:.2f} ms, "
        f"bare {result['bare']['per_step_seconds'] * 1000:.2f} ms, bare passing refs "
        f"{result['bare_refs']['per_step_seconds'] * 1000:.2f} ms "
        f"(Ray start and warm-up {result['startup_seconds']:.0f} s); driver CPU per step: "
        f"shipyard {result['shipyard']['driver_cpu_per_step_seconds'] * 1000:.2f} ms, bare "
        f"{result['bare']['driver_cpu_per_step_seconds'] * 1000:.2f} ms"
    )
    return out


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f} ms"


def render(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Pipelines: Shipyard vs Prefect 3 (Ray rows: vs bare Ray)")
    for column in ("measurement", "Prefect / bare Ray", "Shipyard", "ratio", "target", "pass"):
        table.add_column(column, justify="left" if column == "measurement" else "right")
    for row in rows:
        verdict = {True: "[green]yes[/]", False: "[red]NO[/]", None: "-"}[row["passed"]]
        table.add_row(
            row["measurement"],
            row["prefect"],
            row["shipyard"],
            f"{row['ratio']:,.1f}x" if row["ratio"] else "-",
            row["target"],
            verdict,
        )
    return table


def rows_for(pf: dict[str, Any], sy: dict[str, Any], steps: int) -> list[dict[str, Any]]:
    cached_ratio = pf["cached_rerun_median"] / sy["cached_rerun_median"]
    chain_pf = statistics.median(pf["chain_seconds"])
    chain_sy = statistics.median(sy["chain_seconds"])
    overhead = chain_pf / chain_sy
    marginal_pf, marginal_sy = pf["per_step_seconds"], sy["per_step_seconds"]
    return [
        {
            "measurement": f"per-step overhead ({steps}-step run / {steps}, caching off)",
            "prefect": _ms(chain_pf / steps),
            "shipyard": _ms(chain_sy / steps),
            "ratio": overhead,
            "target": ">= 50x, <= 1 ms",
            "passed": overhead >= 50 and chain_sy / steps <= 0.001,
        },
        {
            "measurement": "marginal cost of one more step (info)",
            "prefect": _ms(marginal_pf),
            "shipyard": _ms(marginal_sy),
            "ratio": marginal_pf / marginal_sy if marginal_pf > 0 else None,
            "target": "-",
            "passed": None,
        },
        {
            "measurement": "10-step pipeline, fully cached re-run",
            "prefect": _ms(pf["cached_rerun_median"]),
            "shipyard": _ms(sy["cached_rerun_median"]),
            "ratio": cached_ratio,
            "target": "< 10 ms",
            "passed": sy["cached_rerun_median"] < 0.010,
        },
        {
            "measurement": "first run incl. start-up (info)",
            "prefect": f"{pf['warmup_seconds']:.2f} s",
            "shipyard": f"{sy['warmup_seconds']:.2f} s",
            "ratio": pf["warmup_seconds"] / sy["warmup_seconds"],
            "target": "-",
            "passed": None,
        },
    ]


def ray_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The Ray rows: Shipyard's Ray executor against bare Ray tasks (the "Prefect" column
    holds bare Ray here)."""
    steps = result["steps"]
    ours, bare, refs = result["shipyard"], result["bare"], result["bare_refs"]
    rows = []
    for what, key in (("per step", "per_step_seconds"), ("marginal", "marginal_seconds")):
        ratio = ours[key] / bare[key]
        rows.append(
            {
                "measurement": f"Ray: {what} ({steps}-step chain), vs bare ray.remote + ray.get",
                "prefect": _ms(bare[key]),
                "shipyard": _ms(ours[key]),
                "ratio": ratio,
                "target": "<= 1.5x" if key == "per_step_seconds" else "-",
                "passed": ratio <= 1.5 if key == "per_step_seconds" else None,
            }
        )
    rows.append(
        {
            "measurement": "Ray: per step, vs bare ray.remote passing ObjectRefs (info)",
            "prefect": _ms(refs["per_step_seconds"]),
            "shipyard": _ms(ours["per_step_seconds"]),
            "ratio": ours["per_step_seconds"] / refs["per_step_seconds"],
            "target": "-",
            "passed": None,
        }
    )
    cpu = "driver_cpu_per_step_seconds"
    rows.append(
        {
            "measurement": "Ray: driver process CPU per step, vs bare ray.remote + ray.get (info)",
            "prefect": _ms(bare[cpu]),
            "shipyard": _ms(ours[cpu]),
            "ratio": ours[cpu] / bare[cpu],
            "target": "-",
            "passed": None,
        }
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--steps", type=int, default=50, help="steps in the overhead pipeline")
    p.add_argument("--repeat", type=int, default=5, help="runs per timing (median taken)")
    p.add_argument("--out", type=Path, default=WORK_DIR / "pipelines.json")
    toggle = argparse.BooleanOptionalAction
    p.add_argument("--ray", action=toggle, default=True, help="measure the Ray rows too")
    p.add_argument("--prefect", action=toggle, default=True, help="measure against Prefect")
    args = p.parse_args(argv)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    started, load_before = time.perf_counter(), os.getloadavg()
    console.log(f"Prefect venv: {PREFECT.venv} ({', '.join(PREFECT.requirements)})")
    sizes = {"steps": args.steps, "repeat": args.repeat, "cached_steps": 10}
    children: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    if args.prefect:
        children["prefect"] = child("prefect", PREFECT.ensure(), sizes)
        children["shipyard"] = child("shipyard", Path(sys.executable), sizes)
        rows += rows_for(children["prefect"]["result"], children["shipyard"]["result"], args.steps)
    if args.ray:
        children["ray"] = ray_child(sizes)
        rows += ray_rows(children["ray"]["result"])
    Console(width=WIDTH).print(render(rows))
    blocked = sum(c["network"]["non_loopback_count"] for c in children.values())
    if blocked:
        console.log(f"[yellow]{blocked} network attempts off this machine were refused")
    record = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "prefect_requirements": list(PREFECT.requirements),
        "rows": rows,
        "children": children,
        "total_seconds": time.perf_counter() - started,
    }
    args.out.write_text(json.dumps(record, indent=2))
    console.log(f"wrote {args.out} after {record['total_seconds']:.0f} s")
    return 0 if all(r["passed"] is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
