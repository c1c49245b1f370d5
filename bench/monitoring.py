"""Drift detection: Shipyard vs Evidently's ``DataDriftPreset``, measured in the same run.

Run with ``uv run --all-extras python bench/monitoring.py`` (``--quick`` for a 100k-row smoke
run, ``--help`` for the sizes). Evidently is installed in its own venv under
``bench/.venvs/evidently``, never in the project venv. The data is synthetic
(``bench/_monitoring_data.py``): 25 columns (20 numeric with varied distributions, 5
categorical with 2 to 200 levels), written once as Parquet into a temporary directory; in the
shifted current window exactly 4 columns move (a mean shift, a scale change, a mixture
component, category frequencies).

Every measurement runs in a fresh process (``bench/_monitoring_child.py``) that reads the same
Parquet files; peak memory is that process's max RSS for both tools. Shipyard's time is
fitting the reference profile from the reference file *and* scoring the current file; the
"score only" row scores against a stored profile, as a monitor does on every run.

The false-positive section scores unshifted windows (reference and current drawn from the
same distribution, fresh data per seed) and counts the share of column tests each p-value
test (KS on the numeric columns, chi-square on the categorical ones) and each final verdict
flags. Results go to ``bench/.work/monitoring.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _competitors import WORK_DIR, Competitor, run_json
from _monitoring_data import CATEGORICAL, COLUMNS, NUMERIC, SHIFTED, write_pair

# evidently 0.7.23 does not import under pandas 3 (pandas.core.dtypes internals moved)
EVIDENTLY = Competitor("evidently", ("evidently==0.7.23", "pandas==2.3.3", "pyarrow==26.0.1"))
CHILD = Path(__file__).resolve().parent / "_monitoring_child.py"
ALPHA = 0.05
console = Console(stderr=True, width=None if sys.stdout.isatty() else 120)


def child(python: Path | str, task: str, **args: Any) -> Any:
    shown = {k: v for k, v in args.items() if k in ("reference",)}
    console.log(f"{task} {json.dumps(shown)} {len(args.get('pairs', [])) or ''}")
    return run_json(python, script=CHILD, args=[task, json.dumps(args)], timeout=7200)


def repeated(python: Path | str, task: str, repeat: int, **args: Any) -> dict[str, Any]:
    """``task`` in ``repeat`` fresh processes: the median seconds, every run's seconds and
    the largest peak memory (the machine is shared, so one run says little)."""
    runs = [child(python, task, **args) for _ in range(repeat)]
    seconds = sorted(r["seconds"] for r in runs)
    return {
        **runs[0],
        "seconds": seconds[len(seconds) // 2],
        "runs": [r["seconds"] for r in runs],
        "peak_mb": max(r["peak_mb"] for r in runs),
    }


def hits(flagged: list[str]) -> dict[str, int]:
    """True and false positives against the truly shifted columns."""
    return {
        "true_positives": sum(c in SHIFTED for c in flagged),
        "false_positives": sum(c not in SHIFTED for c in flagged),
    }


def false_positive_rates(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The share of column tests flagged on unshifted windows, per test and verdict."""
    n = len(runs)
    return {
        "windows": n,
        "ks": sum(len(r["ks"]) for r in runs) / (n * len(NUMERIC)),
        "chi2": sum(len(r["chi2"]) for r in runs) / (n * len(CATEGORICAL)),
        "verdict": sum(len(r["flagged"]) for r in runs) / (n * len(COLUMNS)),
        "ks_trials": n * len(NUMERIC),
        "chi2_trials": n * len(CATEGORICAL),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k rows, fewer seeds")
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each Shipyard case")
    parser.add_argument("--evidently-repeat", type=int, default=1)
    parser.add_argument("--fpr-seeds", type=int, default=20, help="null windows at --fpr-rows")
    parser.add_argument("--fpr-rows", type=int, default=10_000)
    parser.add_argument("--fpr-large-seeds", type=int, default=3, help="null windows at 1M")
    parser.add_argument(
        "--fpr-large-evidently",
        action="store_true",
        help="also run Evidently on the 1M null windows (two reports per window, slow)",
    )
    ns = parser.parse_args(argv)
    if ns.quick:
        ns.sizes, ns.repeat, ns.fpr_seeds, ns.fpr_large_seeds = [100_000], 1, 10, 0
    results = run(ns)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    (WORK_DIR / "monitoring.json").write_text(json.dumps(results, indent=2))
    render(results)
    return 0


def run(ns: argparse.Namespace) -> dict[str, Any]:
    ours = sys.executable
    evidently = EVIDENTLY.ensure()
    results: dict[str, Any] = {
        "args": vars(ns),
        "evidently": EVIDENTLY.requirements[0],
        "load_before": os.getloadavg(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "drift": {},
        "fpr": {},
    }
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-monitoring-") as tmp:
        folder = Path(tmp)
        for n in ns.sizes:
            reference, current = write_pair(folder, n, 0, shifted=True)
            files = {"reference": reference, "current": current}
            profile = str(folder / f"profile-{n}.json")
            cases = {
                "shipyard fit + score": repeated(
                    ours, "shipyard_drift", ns.repeat, profile_out=profile, **files
                ),
                "shipyard score only": repeated(
                    ours, "shipyard_score", ns.repeat, profile=profile, current=current
                ),
                "evidently DataDriftPreset": repeated(
                    evidently, "evidently_drift", ns.evidently_repeat, **files
                ),
            }
            for case in cases.values():
                case.update(hits(case["flagged"]))
            results["drift"][str(n)] = cases
            Path(reference).unlink()
            Path(current).unlink()
        sizes = [(ns.fpr_rows, ns.fpr_seeds, True), (1_000_000, ns.fpr_large_seeds, False)]
        for n, seeds, with_evidently in sizes:
            if seeds == 0:
                continue
            pairs = [write_pair(folder / "null", n, 100 + s, shifted=False) for s in range(seeds)]
            rates = {
                "shipyard": false_positive_rates(child(ours, "shipyard_fpr", pairs=pairs)["runs"])
            }
            if with_evidently or ns.fpr_large_evidently:
                found = child(evidently, "evidently_fpr", pairs=pairs)["runs"]
                rates["evidently"] = {
                    **false_positive_rates(found),
                    "verdict_methods": sorted({m for r in found for m in r["methods"]}),
                }
            results["fpr"][str(n)] = rates
            for pair in pairs:
                for path in pair:
                    Path(path).unlink()
    results["load_after"] = os.getloadavg()
    return results


def ratio(theirs: float, ours: float) -> str:
    return f"{theirs / ours:.1f}x" if ours else "-"


def render(r: dict[str, Any], out: Console | None = None) -> None:
    out = out or Console(width=140)
    table = Table(title=f"Drift on 25 columns, {len(SHIFTED)} truly shifted ({', '.join(SHIFTED)})")
    for c in ("rows", "tool", "seconds", "peak MiB", "flagged", "TP / FP", "faster by", "memory"):
        table.add_column(c)
    for n, cases in r["drift"].items():
        theirs = cases.get("evidently DataDriftPreset")
        for name, m in cases.items():
            faster = ratio(theirs["seconds"], m["seconds"]) if theirs and theirs is not m else ""
            memory = f"{m['peak_mb'] / theirs['peak_mb']:.2f}" if theirs and theirs is not m else ""
            table.add_row(
                f"{int(n):,}",
                name,
                f"{m['seconds']:.2f}",
                f"{m['peak_mb']:.0f}",
                ", ".join(m["flagged"]),
                f"{m['true_positives']} / {m['false_positives']}",
                faster,
                memory,
            )
    out.print(table)
    out.print(
        "seconds: median of fresh processes, Parquet reads included, imports excluded; "
        "memory: peak RSS as a share of Evidently's"
    )
    table = Table(title=f"False-positive rate on unshifted windows (alpha {ALPHA})")
    for c in ("rows", "tool", "windows", "KS", "chi-square", "final verdict", "3-sigma bound"):
        table.add_column(c)
    for n, tools in r["fpr"].items():
        for name, m in tools.items():
            bound = ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / m["chi2_trials"])
            methods = m.get("verdict_methods")
            verdict = f"{m['verdict']:.3f}" + (f" ({', '.join(methods)})" if methods else "")
            table.add_row(
                f"{int(n):,}",
                name,
                str(m["windows"]),
                f"{m['ks']:.3f}",
                f"{m['chi2']:.3f}",
                verdict,
                f"{bound:.3f}",
            )
    out.print(table)
    out.print(f"load average before {r['load_before']}, after {r['load_after']}")


if __name__ == "__main__":
    raise SystemExit(main())
