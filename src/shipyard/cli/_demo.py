"""`shipyard demo`: the whole loop on bundled data, with a progress bar, a leaderboard, the
best model registered, promoted through gates and scoring rows by alias, served, and then the
closed loop: shifted traffic, drift, labels, retraining, a new champion, lineage walks."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.tree import Tree

from shipyard._markup import gates_table
from shipyard.cli import _serving
from shipyard.cli._render import console, fmt_value, friendly_errors, progress_bar, safe
from shipyard.demo import TARGET, DemoResult, run_demo
from shipyard.demo_loop import SCALE, SHIFTED, LoopResult, PredictionLineage, run_loop
from shipyard.entities import Run


def demo() -> None:
    """Version bundled data, run the training pipeline twice (the second time fully cached),
    track every candidate as a run, register and promote the best model through gates, then
    load it by alias and score a few rows."""
    console.rule("[bold]Shipyard demo")
    with (
        friendly_errors(),
        progress_bar() as bar,
    ):
        task = bar.add_task("pipeline", total=None)

        def report(label: str, done: int, total: int) -> None:
            bar.update(task, description=f"step {label}", completed=done, total=total)

        result = run_demo(report)
    console.print(leaderboard_table(result.leaderboard))
    best = result.leaderboard[0] if result.leaderboard else None
    if best is not None:
        console.print(
            f"best: [bold]{safe(best.name)}[/] "
            f"({safe(best.params.get('model', '-'))}: {safe(_hyper(best))}) "
            f"val_auc={best.metrics['val_auc']:.4f}"
        )
    console.print(
        f"tracked {len(result.leaderboard)} runs in experiment [bold]{safe(result.experiment)}[/] "
        f"in {result.seconds:.1f}s; try [bold]shipyard runs list -e {safe(result.experiment)}[/]"
        + (f" and [bold]shipyard models show {result.version.name}[/]" if result.version else "")
    )
    if result.first is not None and result.second is not None and result.dataset is not None:
        first, second = result.first, result.second
        console.print(
            f"dataset [bold]{safe(result.dataset.ref)}[/] ({result.dataset.num_rows} rows, "
            f"sha256 {result.dataset.content_hash[:12]}); pipeline [bold]"
            f"{safe(first.run.pipeline)}[/]: first run {_took(first)} "
            f"({len(first.cache_hits)}/{len(first.steps)} steps cached), second run "
            f"{_took(second)} ({len(second.cache_hits)}/{len(second.steps)} steps cached)"
        )
        console.print(
            f"see [bold]shipyard pipelines show {first.id[:12]}[/] and "
            f"[bold]shipyard lineage run:{best.id[:12] if best else ''} --up[/]"
        )
    _print_registry(result)
    if result.features:
        f = result.features
        console.print(
            f"features: service [bold]{safe(f['service'])}[/] (point-in-time training set), "
            f"{f['materialized']} patients materialized online; mean radius of patients "
            f"{f['patients']}: {f['mean radius']} ({', '.join(f['statuses'])}); try "
            "[bold]shipyard features list[/]"
        )
    if result.version is not None and result.promotion is not None:
        rows = None
        if result.first is not None:  # realistic traffic: the validation rows
            rows = result.first.output("split", 1).drop(columns=[TARGET]).to_dict("records")
        _serving.demo_serving(f"{result.version.name}@{result.promotion.alias}", rows)
        closed_loop(result.version.name)


def closed_loop(model: str) -> None:
    """The closed loop, one Rich stage at a time."""
    console.rule("[bold]The closed loop")
    console.print(
        f"the tumour-size instrument is recalibrated: {len(SHIFTED)} columns now read "
        f"{SCALE}x ({safe(', '.join(SHIFTED[:3]))}, ...)"
    )
    with friendly_errors(), progress_bar() as bar:
        task = bar.add_task("closed loop", total=None)

        def report(label: str, done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)

        loop = run_loop(model, report)
    console.print(_traffic_table(loop))
    _print_monitor(loop)
    _print_retraining(loop)
    console.print(
        f"the server (following @champion) swapped from version {loop.champion_before} to "
        f"[bold]{loop.champion_after}[/] {loop.swap_seconds:.1f}s after the promotion; "
        f"{loop.after.versions.count(loop.champion_after)}/{len(loop.after.versions)} later "
        f"responses carry version {loop.champion_after}"
    )
    for walked, when in zip(loop.walks, ("before", "after"), strict=True):
        console.print(_lineage_tree(walked, when))
    console.print(
        f"closed loop in {loop.seconds:.1f}s; try [bold]shipyard monitor history "
        f"{safe(loop.first.monitor)}[/] and [bold]shipyard models history {safe(model)}[/]"
    )


def _traffic_table(loop: LoopResult) -> Table:
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


def _print_monitor(loop: LoopResult) -> None:
    """The first monitor run: which columns drifted, by how much."""
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
    console.print(table)
    console.print(
        f"{len(drift.get('drifted_columns', []))} of {len(drift.get('columns', []))} columns "
        f"drifted: [bold]{safe(', '.join(drift.get('drifted_columns', [])))}[/]"
    )


def _print_retraining(loop: LoopResult) -> None:
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
    console.print(table)
    for run in (loop.first, loop.second):
        retrain = run.result.get("retrain") or {}
        if retrain:
            console.print(
                f"run {run.id[:8]}: retraining {safe(retrain.get('outcome', '?'))}: "
                f"{safe(retrain.get('reason', ''))}"
            )
    retrain = loop.second.result.get("retrain") or {}
    if "candidate" not in retrain:
        return
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
    console.print(scores)
    for gate in retrain.get("gates", []):
        mark = "[green]pass[/]" if gate["passed"] else "[red]fail[/]"
        console.print(f"gate {mark} {safe(gate['rule'])}: {safe(gate['detail'])}")


def _lineage_tree(walked: PredictionLineage, when: str) -> Tree:
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


def _took(result: Any) -> str:
    ms = result.run.duration_ms
    return "-" if ms is None else f"{ms / 1000:.2f}s"


def _print_registry(result: DemoResult) -> None:
    """The registry half of the demo: registration, the gated promotion, the scored rows."""
    version, event = result.version, result.promotion
    if version is None or event is None:
        return
    console.rule("[bold]Model registry")
    console.print(
        f"registered [bold]{safe(version.ref)}[/] from run {version.run_id and version.run_id[:8]} "
        f"(flavor {version.flavor}, {len(version.files)} files, "
        f"{len(version.requirements)} pinned requirements)"
    )
    console.print(gates_table(event, f"Promotion of {version.ref} to @{event.alias}"))
    moved = "promoted" if event.outcome == "moved" else "NOT promoted"
    console.print(
        f"{moved}: [bold]{safe(version.name)}@{event.alias}[/] -> version {event.to_version}"
    )
    table = Table(
        title=f"{safe(version.name)}@champion scoring validation rows (loaded by alias, verified)",
        header_style="bold",
    )
    for column in ("row", "label", "predicted", "p(benign)"):
        table.add_column(column, justify="right")
    for row in result.scored:
        mark = "" if row.label == row.predicted else " [red]x[/]"
        table.add_row(
            str(row.row), str(row.label), f"{row.predicted}{mark}", f"{row.probability:.3f}"
        )
    console.print(table)


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
            safe(_hyper(run)),
            *(
                fmt_value(run.metrics.get(k))
                for k in ("val_auc", "val_accuracy", "val_f1", "fit_time_s")
            ),
        )
    return table


def _hyper(run: Run) -> str:
    """The hyper-parameters of a leaderboard run as ``k=v, ...`` (the model family aside)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(run.params.items()) if k != "model")
