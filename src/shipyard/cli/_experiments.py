"""`shipyard experiments ...`: list, create, rename, delete, restore."""

from __future__ import annotations

import typer
from rich.table import Table

from shipyard.cli._render import console, fmt_time, friendly_errors, safe
from shipyard.tracking import get_client

app = typer.Typer(
    help="Create, list, rename, delete and restore experiments.", no_args_is_help=True
)


@app.command("list")
def list_(all: bool = typer.Option(False, "--all", help="Include deleted experiments.")) -> None:
    """List experiments."""
    with friendly_errors():
        experiments = get_client().store.list_experiments(include_deleted=all)
    table = Table(title="Experiments", header_style="bold")
    for column in ("id", "name", "created", "state", "description"):
        table.add_column(column)
    for exp in experiments:
        table.add_row(
            exp.id[:12],
            safe(exp.name),
            fmt_time(exp.created_at),
            exp.lifecycle,
            safe(exp.description),
        )
    console.print(table)


@app.command()
def create(
    name: str,
    description: str = typer.Option("", "--description", "-d", help="What the experiment is for."),
) -> None:
    """Create an experiment."""
    with friendly_errors():
        exp = get_client().store.create_experiment(name, description)
    console.print(f"created experiment [bold]{safe(exp.name)}[/] ({exp.id})")


@app.command()
def rename(name: str, new_name: str) -> None:
    """Rename an experiment."""
    with friendly_errors():
        client = get_client()
        client.store.rename_experiment(client.get_experiment(name).id, new_name)
    console.print(f"renamed [bold]{safe(name)}[/] to [bold]{safe(new_name)}[/]")


@app.command()
def delete(name: str) -> None:
    """Delete an experiment and its runs (soft delete: `shipyard experiments restore` undoes it)."""
    with friendly_errors():
        client = get_client()
        client.store.delete_experiment(client.get_experiment(name).id)
    console.print(f"deleted experiment [bold]{safe(name)}[/]")


@app.command()
def restore(name: str) -> None:
    """Restore a deleted experiment (see `shipyard experiments list --all`)."""
    with friendly_errors():
        client = get_client()
        client.store.restore_experiment(client.get_experiment(name).id)
    console.print(f"restored experiment [bold]{safe(name)}[/]")
