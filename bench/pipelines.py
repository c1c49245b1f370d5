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
  fixed per-run costs shared out; target: Shipyard at least 10x lower than Prefect;
* marginal cost of one more step (info): ``(t(N steps) - t(1 step)) / (N - 1)``. Prefect's
  runs have a fixed floor of about a second whatever their size, so this slope is small and
  noisy for it; it is shown for completeness, without a target;
* cached re-run: a 10-step pipeline run a second time with every step served from the cache;
  target: under 1 second for Shipyard (Prefect shown for reference).
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


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f} ms"


def render(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Pipelines: Shipyard vs Prefect 3")
    for column in ("measurement", "Prefect", "Shipyard", "ratio", "target", "pass"):
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
            "target": ">= 10x",
            "passed": overhead >= 10,
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
            "target": "< 1 s",
            "passed": sy["cached_rerun_median"] < 1.0,
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--steps", type=int, default=50, help="steps in the overhead pipeline")
    p.add_argument("--repeat", type=int, default=5, help="runs per timing (median taken)")
    p.add_argument("--out", type=Path, default=WORK_DIR / "pipelines.json")
    args = p.parse_args(argv)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    started, load_before = time.perf_counter(), os.getloadavg()
    console.log(f"Prefect venv: {PREFECT.venv} ({', '.join(PREFECT.requirements)})")
    sizes = {"steps": args.steps, "repeat": args.repeat, "cached_steps": 10}
    pf = child("prefect", PREFECT.ensure(), sizes)
    sy = child("shipyard", Path(sys.executable), sizes)
    rows = rows_for(pf["result"], sy["result"], args.steps)
    Console(width=WIDTH).print(render(rows))
    blocked = pf["network"]["non_loopback_count"] + sy["network"]["non_loopback_count"]
    if blocked:
        console.log(f"[yellow]{blocked} network attempts off this machine were refused")
    record = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "prefect_requirements": list(PREFECT.requirements),
        "rows": rows,
        "children": {"prefect": pf, "shipyard": sy},
        "total_seconds": time.perf_counter() - started,
    }
    args.out.write_text(json.dumps(record, indent=2))
    console.log(f"wrote {args.out} after {record['total_seconds']:.0f} s")
    return 0 if all(r["passed"] is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
