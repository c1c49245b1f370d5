"""Experiment tracking: Shipyard vs MLflow, measured in the same run on this machine.

Run with ``uv run --extra bench python bench/tracking.py`` (``--help`` for the knobs).
MLflow is installed in its own venv under ``bench/.venvs/mlflow``, never in the project venv.
Each measurement runs in a fresh subprocess per tool with a fresh temporary home, both on
SQLite in-process; ``bench/_tracking_child.py`` holds the measured loops (shared by both
tools) and ``bench/README.md`` says what each row means. Results go to
``bench/.work/tracking.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _competitors import WORK_DIR, Competitor, run_json, time_fresh_imports

MLFLOW = Competitor("mlflow", ("mlflow==3.17.2",))
CHILD = Path(__file__).resolve().parent / "_tracking_child.py"
SEARCH = {
    "filter": "metrics.m0 > 0.5 and params.p0 = 'a'",
    "order_by": ["metrics.m1 desc"],
    "limit": 100,
    "repeat": 5,
    "seed": 1234,
}
WIDTH = None if sys.stdout.isatty() else 120  # piped output: don't wrap at 80 columns
console = Console(stderr=True, width=WIDTH)


@dataclass
class Side:
    """One tool, the interpreter that runs its children, and what they reported."""

    name: str
    python: Path
    env: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def child(self, task: str, **kwargs: Any) -> dict[str, Any]:
        """One measurement in a fresh process and a fresh home (memoised per arguments)."""
        key = f"{task}:{json.dumps(kwargs, sort_keys=True)}"
        if key not in self.outputs:
            self.outputs[key] = self._spawn(task, kwargs)
        return self.outputs[key]["result"]  # type: ignore[no-any-return]

    def _spawn(self, task: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix=f"{self.name}-", dir=WORK_DIR) as tmp:
            payload = json.dumps({"home": str(Path(tmp) / "home"), **kwargs})
            out: dict[str, Any] = run_json(
                self.python,
                script=CHILD,
                args=[self.name, task, payload],
                env=self.env,
                timeout=3600,
            )
        console.log(f"{self.name:8} {task:11} {_summary(out['result'])}")
        return out

    def network(self) -> int:
        return sum(o["network"]["non_loopback_count"] for o in self.outputs.values())


def _summary(result: dict[str, Any]) -> str:
    if "per_second" in result:
        return (
            f"{result['count']:>9,} points in {result['seconds']:6.2f} s"
            f" = {result['per_second']:>11,.0f}/s"
        )
    return (
        f"{result['runs']:>9,} runs populated in {result['populate_seconds']:.1f} s; "
        f"search {result['search_seconds'] * 1000:.1f} ms ({result['returned']} rows)"
    )


@dataclass
class Row:
    """One table line. ``ratio`` is how many times better Shipyard is (or its own scaling)."""

    measurement: str
    mlflow: str
    shipyard: str
    ratio: float | None
    target: str
    passed: bool | None  # None: informational row without a target


def compare(label: str, ml: float, sy: float, *, minimum: float | None, rate: bool) -> Row:
    """Shipyard must be ``minimum`` times better: a higher rate, or a shorter time."""
    ratio = sy / ml if rate else ml / sy
    fmt = _rate if rate else _seconds
    if minimum is None:
        return Row(label, fmt(ml), fmt(sy), ratio, "-", None)
    return Row(label, fmt(ml), fmt(sy), ratio, f">= {minimum:g}x", ratio >= minimum)


def _rate(value: float) -> str:
    return f"{value:,.0f}/s"


def _seconds(value: float) -> str:
    return f"{value * 1000:,.1f} ms" if value < 10 else f"{value:,.1f} s"


# --------------------------------------------------------------------------- measurements


def throughput_rows(ml: Side, sy: Side, a: argparse.Namespace) -> list[Row]:
    """Rows 1-3: single calls (buffered and synchronous), log_batch and log_metrics."""
    per_call = {"n": a.mlflow_calls}
    batch = {"size": 1000, "keys": 10}
    specs: list[tuple[str, str, dict[str, Any], dict[str, Any], float]] = [
        ("log_metric, buffered", "log_metric", per_call, {"n": a.shipyard_calls}, 100),
        ("log_metric, sync_logging", "log_metric", per_call, {"n": a.sync_calls, "sync": True}, 10),
        (
            "log_batch, 1,000 points a call",
            "log_batch",
            {"batches": a.mlflow_batches, **batch},
            {"batches": a.shipyard_batches, **batch},
            10,
        ),
        (
            "log_metrics, 100-key dict a call",
            "log_metrics",
            {"steps": a.mlflow_steps, "keys": 100},
            {"steps": a.shipyard_steps, "keys": 100},
            10,
        ),
    ]
    rows = []
    for label, task, ml_kwargs, sy_kwargs, minimum in specs:
        m, s = ml.child(task, **ml_kwargs), sy.child(task, **sy_kwargs)
        _check_stored(label, m, s)
        rows.append(compare(label, m["per_second"], s["per_second"], minimum=minimum, rate=True))
    return rows


def _check_stored(label: str, *results: dict[str, Any]) -> None:
    for r in results:
        if r["stored"] != r["count"]:
            raise RuntimeError(f"{label}: logged {r['count']} points but {r['stored']} stored")


def search_rows(ml: Side, sy: Side, a: argparse.Namespace) -> list[Row]:
    """Row 4: search at ``--runs`` runs for both; Shipyard alone at ``--big-runs``."""
    m, s = ml.child("search", runs=a.runs, **SEARCH), sy.child("search", runs=a.runs, **SEARCH)
    if m["top_m1"] != s["top_m1"] or m["returned"] != s["returned"]:
        console.log(f"[red]search results differ: mlflow {m['top_m1']} shipyard {s['top_m1']}")
    n = f"{a.runs:,}"
    rows = [
        compare(
            f"populate {n} runs (info)",
            m["populate_seconds"],
            s["populate_seconds"],
            minimum=None,
            rate=False,
        ),
        compare(
            f"search_runs, {n} runs",
            m["search_seconds"],
            s["search_seconds"],
            minimum=10,
            rate=False,
        ),
    ]
    if a.big_runs:
        big = sy.child("search", runs=a.big_runs, **SEARCH)
        growth = big["search_seconds"] / s["search_seconds"]
        rows.append(
            Row(
                f"Shipyard search {a.big_runs:,} vs {n} runs",
                "-",
                _seconds(big["search_seconds"]),
                growth,
                "<= 10x (own)",
                growth <= 10,
            )
        )
    return rows


def import_row(ml: Side, sy: Side, repeat: int) -> tuple[Row, dict[str, list[float]]]:
    """Row 5: median wall time of ``python -c "import X"`` in fresh processes."""
    timings = {
        "mlflow": time_fresh_imports(ml.python, "mlflow", repeat=repeat, env=ml.env),
        "shipyard": time_fresh_imports(sy.python, "shipyard", repeat=repeat, env=sy.env),
        "python_baseline": time_fresh_imports(sy.python, "sys", repeat=repeat),
    }
    m, s = statistics.median(timings["mlflow"]), statistics.median(timings["shipyard"])
    return compare("cold import", m, s, minimum=5, rate=False), timings


def network_row(ml: Side, sy: Side) -> Row:
    """Row 6: connections/DNS look-ups off this machine, over every child of each side."""
    m, s = ml.network(), sy.network()
    return Row("non-loopback connects + DNS", f"{m:,}", f"{s:,}", None, "Shipyard 0", s == 0)


# --------------------------------------------------------------------------- output


def render(rows: list[Row], title: str = "Experiment tracking: Shipyard vs MLflow") -> Table:
    table = Table(title=title)
    for col in ("measurement", "MLflow", "Shipyard", "ratio", "target", "pass/fail"):
        table.add_column(col, justify="left" if col == "measurement" else "right")
    for r in rows:
        verdict = {True: "[green]pass", False: "[red]FAIL", None: "info"}[r.passed]
        ratio = "-" if r.ratio is None else f"{r.ratio:,.1f}x"
        table.add_row(r.measurement, r.mlflow, r.shipyard, ratio, r.target, verdict)
    return table


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    try:
        import psutil
    except ImportError:
        return info
    info["memory_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
    info["physical_cores"] = psutil.cpu_count(logical=False)
    return info


REPO = Path(__file__).resolve().parent.parent


def shipyard_source(rev: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """Environment for Shipyard children, and what it measures: the venv's (editable) package,
    or with ``rev`` a snapshot of ``src/shipyard`` at that revision, immune to edits."""
    if rev is None:
        return {}, {"source": "working tree", "describe": _git("describe", "--always", "--dirty")}
    sha = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    if sha == "unknown":
        raise SystemExit(f"--shipyard-rev {rev}: not a commit of {REPO}")
    snapshot = WORK_DIR / "snapshots" / sha
    if not (snapshot / "shipyard" / "__init__.py").is_file():
        snapshot.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", sha, "src/shipyard"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(
            ["tar", "-x", "--strip-components=1", "-C", str(snapshot)], input=archive, check=True
        )
    return {"PYTHONPATH": str(snapshot)}, {"source": f"snapshot of {rev}", "commit": sha}


def _git(*args: str) -> str:
    out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = p.add_argument
    add("--runs", type=int, default=10_000, help="runs for the search comparison (both tools)")
    add("--big-runs", type=int, default=100_000, help="Shipyard-only search scale, with --full")
    add("--full", action="store_true", help="also search Shipyard at --big-runs (~5 more min)")
    add("--mlflow-calls", type=int, default=1_000, help="MLflow log_metric calls")
    add("--shipyard-calls", type=int, default=100_000, help="Shipyard buffered log_metric calls")
    add("--sync-calls", type=int, default=20_000, help="Shipyard sync_logging log_metric calls")
    add("--mlflow-batches", type=int, default=50, help="MLflow log_batch calls of 1,000 points")
    add("--shipyard-batches", type=int, default=500, help="Shipyard log_batch calls of 1,000")
    add("--mlflow-steps", type=int, default=100, help="MLflow log_metrics calls of 100 keys")
    add("--shipyard-steps", type=int, default=2_000, help="Shipyard log_metrics calls of 100 keys")
    add("--import-repeat", type=int, default=5, help="fresh processes per import timing")
    add("--shipyard-rev", help="measure src/shipyard as of this git revision (a snapshot)")
    add("--quick", action="store_true", help="small sizes everywhere: a smoke test, not a result")
    add("--out", type=Path, default=WORK_DIR / "tracking.json", help="where the JSON goes")
    args = p.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    if not (args.full or args.quick):
        args.big_runs = 0
    return args


QUICK = {
    "runs": 300,
    "big_runs": 3_000,
    "mlflow_calls": 100,
    "shipyard_calls": 5_000,
    "sync_calls": 1_000,
    "mlflow_batches": 3,
    "shipyard_batches": 20,
    "mlflow_steps": 10,
    "shipyard_steps": 100,
    "import_repeat": 2,
}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    started, load_before = time.perf_counter(), os.getloadavg()
    if load_before[0] > 0.5:
        console.log(f"[yellow]load average {load_before[0]:.2f}: other work may skew results")
    console.log(f"MLflow venv: {MLFLOW.venv} ({', '.join(MLFLOW.requirements)})")
    ml = Side("mlflow", MLFLOW.ensure())
    env, source = shipyard_source(args.shipyard_rev)
    sy = Side("shipyard", Path(sys.executable), env=env)
    rows = throughput_rows(ml, sy, args) + search_rows(ml, sy, args)
    imp, import_timings = import_row(ml, sy, args.import_repeat)
    rows += [imp, network_row(ml, sy)]
    Console(width=WIDTH).print(render(rows))
    record = {
        "machine": machine(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "mlflow_requirements": list(MLFLOW.requirements),
        "shipyard_source": source,
        "rows": [asdict(r) for r in rows],
        "import_seconds": import_timings,
        "children": {"mlflow": ml.outputs, "shipyard": sy.outputs},
        "total_seconds": time.perf_counter() - started,
    }
    args.out.write_text(json.dumps(record, indent=2))
    console.log(f"wrote {args.out} after {record['total_seconds']:.0f} s")
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
