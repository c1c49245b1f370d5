"""Rich rendering shared by the CLI commands: the consoles, the progress bar, tables of runs,
listings in table, JSON or CSV form, and one-line errors (value formatting is
:mod:`shipyard._markup`'s, shared with the demo).

Output that is not a terminal (a pipe, a file) is never cut: Rich would lay it out 80 columns
wide and truncate table cells, so such consoles get a width no table reaches.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.rule import Rule
from rich.table import Table

from shipyard._markup import fmt_value as fmt_value, safe as safe
from shipyard.entities import RunStatus
from shipyard.errors import ShipyardError

if TYPE_CHECKING:
    from rich.progress import Progress

    from shipyard.entities import Run

#: The width of output that is not a terminal: wide enough that no table is cut.
PIPE_WIDTH = 10_000
#: Rules and other full-width decorations are drawn at most this wide.
RULE_WIDTH = 100


def _console(stderr: bool = False) -> Console:
    """A console as wide as the terminal, or unbounded when the stream is not a terminal and
    COLUMNS does not say otherwise."""
    stream = sys.stderr if stderr else sys.stdout
    piped = not (hasattr(stream, "isatty") and stream.isatty())
    wide = piped and not os.environ.get("COLUMNS")
    return Console(stderr=stderr, width=PIPE_WIDTH if wide else None)


console = _console()
err_console = _console(stderr=True)
T = TypeVar("T")


def rule(title: str) -> None:
    """A titled horizontal rule, no wider than :data:`RULE_WIDTH` (even when piped)."""
    console.print(Rule(title), width=min(console.width, RULE_WIDTH))


class OutputFormat(StrEnum):
    """How a listing command prints: a Rich table for people, JSON or CSV for programs."""

    table = "table"
    json = "json"
    csv = "csv"


FormatOpt: Any = typer.Option(
    OutputFormat.table, "--format", help="Output as a table, JSON (a list of objects) or CSV."
)


class Listing:
    """Rows of one listing: plain values for JSON and CSV, markup for the table.

    ``add(values, shown)`` takes the plain values (one per column: strings, numbers, None)
    and optionally the table cells as Rich markup (default: the values, escaped).
    """

    def __init__(self, title: str, columns: Sequence[str], right: Sequence[str] = ()) -> None:
        self.title = title
        self.columns = list(columns)
        self.right = set(right)
        self.rows: list[list[Any]] = []
        self.cells: list[list[str]] = []

    def add(self, values: Sequence[Any], shown: Sequence[str] | None = None) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"{len(values)} values for {len(self.columns)} columns")
        self.rows.append(list(values))
        self.cells.append(list(shown) if shown is not None else [safe(v) for v in values])

    def table(self) -> Table:
        table = Table(title=self.title, header_style="bold")
        for column in self.columns:
            table.add_column(safe(column), justify="right" if column in self.right else "left")
        for cells in self.cells:
            table.add_row(*cells)
        return table

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def print_listing(listing: Listing, fmt: OutputFormat, empty_hint: str = "") -> None:
    """Print a listing as a table (with ``empty_hint`` under an empty one), JSON or CSV."""
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(listing.records(), indent=2, default=str))
    elif fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(listing.columns)
        writer.writerows([["" if v is None else v for v in row] for row in listing.rows])
    else:
        console.print(listing.table())
        if empty_hint and not listing.rows:
            console.print(f"[dim]{empty_hint}[/]")


def progress_bar() -> Progress:
    """A labelled progress bar with a done/total count and the elapsed time."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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


def runs_listing(runs: Sequence[Run], title: str, metric_keys: Sequence[str] = ()) -> Listing:
    """Runs with their key metrics (the full run id in JSON and CSV, 12 characters shown)."""
    keys = list(metric_keys) or sorted({k for r in runs for k in r.metrics})[:6]
    columns = ["run id", "name", "status", "started", "duration", *keys]
    listing = Listing(title, columns, right=keys)
    for run in runs:
        metrics = [run.metrics.get(k) for k in keys]
        listing.add(
            [run.id, run.name, run.status, fmt_time(run.start_time), run.duration_ms, *metrics],
            [
                run.id[:12],
                safe(run.name),
                status_text(run.status),
                fmt_time(run.start_time),
                fmt_duration(run.duration_ms),
                *(safe(m) for m in metrics),
            ],
        )
    return listing


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
