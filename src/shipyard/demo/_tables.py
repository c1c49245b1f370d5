"""The demo's Rich tables and trees, built from its results (nothing is printed here; see
:mod:`shipyard.demo._show` for the order they are shown in)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.tree import Tree

from shipyard._markup import fmt_value, safe
from shipyard.demo._champion import Scored
from shipyard.demo._lineage import PredictionLineage
from shipyard.demo._loop import SHIFTED, LoopResult
from shipyard.demo._serving import ServingDemo
from shipyard.entities import ModelVersion, Run
from shipyard.pipelines import PipelineRunResult


def leaderboard_table(runs: list[Run]) -> Table:
    """Runs ranked by validation AUC, with their hyper-parameters."""
    table = Table(title="Leaderboard (by validation ROC AUC)", header_style="bold")
    for column in ("#", "run", "model", "hyper-parameters"):
        table.add_column(column)
    for column in ("val_auc", "val_accuracy", "val_f1", "fit_time_s"):
        table.add_column(column.replace("val_", ""), justify="right")
    for rank, run in enumerate(runs, start=1):
        table.add_row(
            str(rank),
            run.id[:8],
            safe(run.params.get("model", "-")),
            safe(hyper(run)),
            *(
                fmt_value(run.metrics.get(k))
                for k in ("val_auc", "val_accuracy", "val_f1", "fit_time_s")
            ),
        )
    return table


def hyper(run: Run) -> str:
    """The hyper-parameters of a leaderboard run as ``k=v, ...`` (the model family aside)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(run.params.items()) if k != "model")


def took(result: PipelineRunResult) -> str:
    """How long a pipeline run took, in seconds (``-`` if it has no duration)."""
    ms = result.run.duration_ms
    return "-" if ms is None else f"{ms / 1000:.2f}s"


def scored_table(version: ModelVersion, scored: list[Scored]) -> Table:
    """The validation rows the champion scored, a wrong prediction marked."""
    table = Table(
        title=f"{safe(version.name)}@champion scoring validation rows (loaded by alias, verified)",
        header_style="bold",
    )
    for column in ("row", "label", "predicted", "p(benign)"):
        table.add_column(column, justify="right")
    for row in scored:
        mark = "" if row.label == row.predicted else " [red]x[/]"
        table.add_row(
            str(row.row), str(row.label), f"{row.predicted}{mark}", f"{row.probability:.3f}"
        )
    return table


def serving_table(ref: str, stats: ServingDemo) -> Table:
    """What the serving burst measured, client side and server side."""
    table = Table(title=f"{safe(ref)} behind the V2 server ({stats.url})", header_style="bold")
    for column in (
        "requests",
        "failed",
        "req/s",
        "p50 ms",
        "p99 ms",
        "model calls",
        "rows/call",
        "logged",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        str(stats.requests),
        str(stats.failed),
        f"{stats.requests / stats.seconds:.0f}",
        f"{stats.p50_ms:.1f}",
        f"{stats.p99_ms:.1f}",
        str(stats.model_calls),
        f"{stats.mean_batch:.1f}",
        str(stats.logged_rows),
    )
    return table


def traffic_table(loop: LoopResult) -> Table:
    """Each phase of the loop's traffic: rows, the versions that answered, the accuracy."""
    table = Table(title="Traffic (one request per row)", header_style="bold")
    for column in ("phase", "rows", "answered by", "accuracy (labels)"):
        table.add_column(column, justify="right" if column != "phase" else "left")
    for phase, traffic in (
        ("normal", loop.normal),
        ("recalibrated instrument", loop.shifted),
        ("after the swap", loop.after),
    ):
        versions = ", ".join(f"v{v}" for v in sorted(set(traffic.versions)))
        table.add_row(phase, str(len(traffic.ids)), versions, f"{traffic.accuracy:.3f}")
    return table


def drift_table(loop: LoopResult) -> Table:
    """The first monitor run's columns, the drifted ones first, with their tests."""
    drift = loop.first.result.get("drift", {})
    table = Table(
        title=f"Monitor {safe(loop.first.monitor)}: {drift.get('n_current', 0)} rows vs the "
        f"training data ({safe(loop.first.result.get('reference_source', ''))})",
        header_style="bold",
    )
    for column in ("column", "KS p-value", "Wasserstein", "drifted"):
        table.add_column(column, justify="left" if column == "column" else "right")
    columns = sorted(drift.get("columns", []), key=lambda c: not c["drifted"])
    for c in columns[: len(SHIFTED) + 2]:
        tests = {t["test"]: t for t in c["tests"]}
        p_value = tests.get("ks", {}).get("p_value")
        table.add_row(
            safe(c["column"]),
            "-" if p_value is None else f"{p_value:.2g}",
            fmt_value(tests.get("wasserstein", {}).get("statistic")),
            "[red]yes[/]" if c["drifted"] else "no",
        )
    return table


def monitor_runs_table(loop: LoopResult) -> Table:
    """Both monitor runs: the alerts that fired and what the retraining policy did."""
    table = Table(title="Monitor runs and the retraining policy", header_style="bold")
    for column in ("run", "alerts firing", "labelled", "accuracy", "retraining"):
        table.add_column(column)
    for run in (loop.first, loop.second):
        metrics = run.result.get("metrics", {})
        firing = [r for r, state in run.result.get("alerts", {}).items() if state.get("firing")]
        retrain = run.result.get("retrain") or {}
        table.add_row(
            run.id[:8],
            safe("; ".join(firing)),
            str(int(metrics.get("labelled", 0))),
            fmt_value(metrics.get("accuracy")),
            safe(retrain.get("outcome", "-")),
        )
    return table


def scores_table(loop: LoopResult, retrain: dict[str, Any]) -> Table:
    """Candidate and champion scored on the same held-out labelled rows."""
    scores = Table(
        title=f"Candidate vs champion on the same {retrain['labelled']} held-out labelled "
        f"rows (the candidate trained on {safe(loop.dataset)}, without them)",
        header_style="bold",
    )
    for column in ("version", "role", "window_accuracy"):
        scores.add_column(column)
    scores.add_row(str(retrain["candidate"]), "candidate", fmt_value(retrain["candidate_score"]))
    if "champion" in retrain:
        scores.add_row(str(retrain["champion"]), "champion", fmt_value(retrain["champion_score"]))
    return scores


def lineage_tree(walked: PredictionLineage, when: str) -> Tree:
    """One prediction walked back to its data and code."""
    tree = Tree(
        f"[bold]prediction {walked.prediction_id[:12]}[/] ({when} the retraining)",
        guide_style="dim",
    )
    node = tree.add(f"model version [bold]{safe(walked.model)}/{walked.version}[/]")
    node = node.add(f"training run {walked.run[:12] or '-'}")
    for pipeline_run in walked.pipeline_runs:
        node.add(f"pipeline run {pipeline_run[:12]}")
    for monitor_run in walked.monitor_runs:
        node.add(f"triggered by monitor run {monitor_run[:12]}")
    data = node.add("dataset versions")
    for ref in walked.datasets:
        data.add(f"[bold]{safe(ref)}[/]")
    commit = walked.commit or "none recorded (not run from a git repository)"
    node.add(f"git commit {safe(commit[:12] if walked.commit else commit)}")
    return tree
