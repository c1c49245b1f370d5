"""`shipyard demo`: the whole loop on bundled data, with a progress bar, a leaderboard, and the
best model registered, promoted through gates and scoring rows by alias."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from shipyard.cli import _serving
from shipyard.cli._models import gates_table
from shipyard.cli._render import console, fmt_value, friendly_errors, progress_bar, safe
from shipyard.demo import DemoResult, run_demo
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
        _serving.demo_serving(f"{result.version.name}@{result.promotion.alias}")


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
