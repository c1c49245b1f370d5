"""Rich rendering shared by the CLI commands: the consoles, the progress bar, tables of runs
and one-line errors (value formatting is :mod:`shipyard._markup`'s, shared with the demo)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shipyard._markup import fmt_value as fmt_value, safe as safe
from shipyard.entities import Run, RunStatus
from shipyard.errors import ShipyardError

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


def progress_bar() -> Progress:
    """A labelled progress bar with a done/total count and the elapsed time."""
    return Progress(
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def fmt_time(ms: int | None) -> str:
    """Milliseconds since the epoch as a local-free UTC timestamp."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(ms: int | None) -> str:
    """A duration in ms as '1.2s' / '3m04s'."""
    if ms is None:
        return "-"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


STATUS_STYLE: dict[str, str] = {
    RunStatus.FINISHED: "green",
    RunStatus.FAILED: "red",
    RunStatus.KILLED: "yellow",
    RunStatus.RUNNING: "cyan",
}


def status_text(status: str) -> str:
    """A status coloured by outcome."""
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


def runs_table(runs: Sequence[Run], title: str, metric_keys: Sequence[str] = ()) -> Table:
    """A table of runs with their key metrics."""
    keys = list(metric_keys) or sorted({k for r in runs for k in r.metrics})[:6]
    table = Table(title=title, header_style="bold")
    for column in ("run id", "name", "status", "started", "duration"):
        table.add_column(column, no_wrap=column == "run id")
    for key in keys:
        table.add_column(key, justify="right")
    for run in runs:
        table.add_row(
            run.id[:12],
            safe(run.name),
            status_text(run.status),
            fmt_time(run.start_time),
            fmt_duration(run.duration_ms),
            *(safe(run.metrics.get(k)) for k in keys),
        )
    return table


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Print a Shipyard error as one red headline and exit 1, instead of a traceback."""
    try:
        yield
    except ShipyardError as exc:
        # soft_wrap: one line however narrow the terminal (or 80 columns when piped)
        err_console.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
        raise typer.Exit(1) from None


def run_cli(fn: Callable[[], T]) -> T:
    """Call ``fn`` with friendly error reporting."""
    with friendly_errors():
        return fn()
