"""`shipyard data ...`: register, list, show and diff dataset versions."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from shipyard.cli._render import (
    FormatOpt,
    Listing,
    OutputFormat,
    console,
    fmt_time,
    fmt_value,
    friendly_errors,
    print_listing,
    safe,
)
from shipyard.cli._store import require_store
from shipyard.cli._ui import print_link
from shipyard.entities import DatasetVersion

app = typer.Typer(
    help="Register, list, inspect and compare dataset versions.", no_args_is_help=True
)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@app.command()
def register(
    name: str = typer.Argument(..., help="Dataset name."),
    source: str = typer.Argument(..., help="A file, folder or glob (Parquet, CSV, JSON lines)."),
    description: str = typer.Option("", "--description", "-d", help="What this version is."),
) -> None:
    """Register a file, folder or glob as a dataset version (identical data: same version)."""
    from shipyard import data

    with friendly_errors(), console.status(f"hashing and profiling {safe(source)}"):
        version = data.register(name, source, description=description)
    console.print(
        f"[bold]{safe(version.ref)}[/]  {version.num_rows:,} rows, {len(version.schema)} "
        f"columns, sha256 {version.content_hash[:16]}"
    )
    print_link("dataset_version", version.dataset, version.version)


@app.command("list")
def list_(fmt: OutputFormat = FormatOpt) -> None:
    """List datasets with their latest version."""
    from shipyard import data

    with friendly_errors():
        require_store()
        datasets = data.list_datasets()
    listing = Listing("Datasets", ("name", "latest", "versions", "updated", "description"))
    for ds in datasets:
        listing.add(
            [ds.name, ds.latest_version, ds.version_count, fmt_time(ds.updated_at), ds.description],
            [safe(ds.name), f"@{ds.latest_version}", str(ds.version_count),
             fmt_time(ds.updated_at), safe(ds.description)],
        )  # fmt: skip
    print_listing(listing, fmt, "no datasets yet; register one with `shipyard data register`")


def _versions_table(name: str, versions: list[DatasetVersion]) -> Table:
    table = Table(title=f"Versions of {safe(name)}", header_style="bold")
    for column in ("version", "rows", "columns", "size", "sha256", "created", "source"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            f"@{v.version}",
            f"{v.num_rows:,}",
            str(len(v.schema)),
            _size(v.size),
            v.content_hash[:12],
            fmt_time(v.created_at),
            safe(v.source),
        )
    return table


def _stat(stats: dict[str, Any], key: str) -> str:
    if key in ("p25", "p50", "p75"):
        value = (stats.get("quantiles") or {}).get(key)
    else:
        value = stats.get(key)
    return "" if value is None else safe(value)


def _profile_table(version: DatasetVersion) -> Table:
    table = Table(title=f"Profile of {safe(version.ref)}", header_style="bold")
    for column in ("column", "type", "nulls", "distinct", "min", "p50", "max", "mean", "top"):
        table.add_column(column, overflow="fold")
    for col in version.schema:
        stats = version.profile.get(col["name"], {})
        top = ", ".join(f"{safe(v)} ({n})" for v, n in stats.get("top", [])[:3])
        nulls = stats.get("nulls", 0)
        table.add_row(
            safe(col["name"]),
            safe(col["type"]),
            f"{nulls:,} ({stats.get('null_fraction', 0.0):.0%})" if nulls else "0",
            str(stats.get("distinct", "")),
            _stat(stats, "min"),
            _stat(stats, "p50"),
            _stat(stats, "max"),
            fmt_value(stats.get("mean")) if stats.get("mean") is not None else "",
            top,
        )
    return table


@app.command()
def show(
    ref: str = typer.Argument(..., help="name (all versions) or name@3 / name@latest."),
    as_json: bool = typer.Option(False, "--json", help="Print the version record as JSON."),
) -> None:
    """Show a dataset's versions, or one version's schema and column profile."""
    from shipyard import data

    with friendly_errors():
        require_store()
        if "@" not in ref:
            console.print(_versions_table(ref, data.versions(ref)))
            print_link("dataset", ref)
            return
        version = data.get(ref)
    if as_json:
        typer.echo(json.dumps(version.to_dict(), indent=2))
        return
    console.print(
        f"[bold]{safe(version.ref)}[/]  {version.num_rows:,} rows, {_size(version.size)}, "
        f"sha256 {version.content_hash}\ncreated {fmt_time(version.created_at)} from "
        f"{safe(version.source or '-')}  {safe(version.description)}"
    )
    print_link("dataset_version", version.dataset, version.version)
    console.print(_profile_table(version))


@app.command()
def diff(
    a: str = typer.Argument(..., help="The older version, e.g. transactions@2."),
    b: str = typer.Argument(..., help="The newer version, e.g. transactions@3."),
    top: int = typer.Option(10, "--top", "-n", help="How many moved columns to list."),
) -> None:
    """Schema changes, row count change, and the columns whose profile moved most."""
    from shipyard import data

    with friendly_errors():
        require_store()
        result = data.diff(a, b)
    sign = "+" if result.row_change >= 0 else ""
    console.print(
        f"[bold]{safe(result.a)} -> {safe(result.b)}[/]  rows {result.rows_a:,} -> "
        f"{result.rows_b:,} ({sign}{result.row_change:,})"
    )
    if result.same_schema:
        console.print("schema: unchanged")
    for col in result.added:
        console.print(f"[green]+ {safe(col['name'])}[/] {safe(col['type'])}")
    for col in result.removed:
        console.print(f"[red]- {safe(col['name'])}[/] {safe(col['type'])}")
    for col in result.type_changed:
        console.print(f"[yellow]~ {safe(col['name'])}[/] {safe(col['from'])} -> {safe(col['to'])}")
    table = Table(title="Columns that moved most", header_style="bold")
    for column in ("column", "shift", "what changed"):
        table.add_column(column)
    for change in result.columns[:top]:
        style = "bold yellow" if change.score >= 0.5 else ""
        table.add_row(
            safe(change.column),
            f"[{style}]{change.score:.2f}[/]" if style else f"{change.score:.2f}",
            safe(change.detail),
        )
    console.print(table)
