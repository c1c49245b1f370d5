"""`shipyard experiments ...`: list, create, rename, delete."""

from __future__ import annotations

import typer
from rich.table import Table

from shipyard.cli._render import console, fmt_time, friendly_errors
from shipyard.tracking import get_client

app = typer.Typer(help="Create, list, rename and delete experiments.", no_args_is_help=True)


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
            exp.id[:12], exp.name, fmt_time(exp.created_at), exp.lifecycle, exp.description
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
    console.print(f"created experiment [bold]{exp.name}[/] ({exp.id})")


@app.command()
def rename(name: str, new_name: str) -> None:
    """Rename an experiment."""
    with friendly_errors():
        client = get_client()
        client.store.rename_experiment(client.get_experiment(name).id, new_name)
    console.print(f"renamed [bold]{name}[/] to [bold]{new_name}[/]")


@app.command()
def delete(name: str) -> None:
    """Delete an experiment and its runs (soft delete: restorable)."""
    with friendly_errors():
        client = get_client()
        client.store.delete_experiment(client.get_experiment(name).id)
    console.print(f"deleted experiment [bold]{name}[/]")
