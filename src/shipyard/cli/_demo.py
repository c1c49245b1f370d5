"""`shipyard demo`: the whole loop on bundled data, with a progress bar and a leaderboard."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shipyard.cli._render import console, fmt_value, friendly_errors, safe
from shipyard.demo import run_demo
from shipyard.entities import Run


def demo() -> None:
    """Version bundled data, run the training pipeline twice (the second time fully cached),
    track every candidate as a run and print the leaderboard."""
    console.rule("[bold]Shipyard demo")
    with (
        friendly_errors(),
        Progress(
            TextColumn("[bold blue]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar,
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


def _took(result: Any) -> str:
    ms = result.run.duration_ms
    return "-" if ms is None else f"{ms / 1000:.2f}s"


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
