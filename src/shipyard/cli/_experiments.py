"""`shipyard experiments ...`: list, create, rename, delete, restore."""

from __future__ import annotations

import typer

from shipyard.cli._render import (
    FormatOpt,
    Listing,
    OutputFormat,
    console,
    fmt_time,
    friendly_errors,
    print_listing,
    safe,
)
from shipyard.cli._store import existing_client, get_client
from shipyard.cli._ui import print_link

app = typer.Typer(
    help="Create, list, rename, delete and restore experiments.", no_args_is_help=True
)


@app.command("list")
def list_(
    all: bool = typer.Option(False, "--all", help="Include deleted experiments."),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """List experiments."""
    with friendly_errors():
        experiments = existing_client().store.list_experiments(include_deleted=all)
    listing = Listing("Experiments", ("id", "name", "created", "state", "description"))
    for exp in experiments:
        values = [exp.id, exp.name, fmt_time(exp.created_at), exp.lifecycle, exp.description]
        listing.add(values, [exp.id[:12], *(safe(v) for v in values[1:])])
    print_listing(listing, fmt)


@app.command()
def create(
    name: str,
    description: str = typer.Option("", "--description", "-d", help="What the experiment is for."),
) -> None:
    """Create an experiment."""
    with friendly_errors():
        exp = get_client().store.create_experiment(name, description)
    console.print(f"created experiment [bold]{safe(exp.name)}[/] ({exp.id})")
    print_link("experiment", exp.id)


@app.command()
def rename(name: str, new_name: str) -> None:
    """Rename an experiment."""
    with friendly_errors():
        client = existing_client()
        client.store.rename_experiment(client.get_experiment(name).id, new_name)
    console.print(f"renamed [bold]{safe(name)}[/] to [bold]{safe(new_name)}[/]")


@app.command()
def delete(name: str) -> None:
    """Delete an experiment and its runs (soft delete: `shipyard experiments restore` undoes it)."""
    with friendly_errors():
        client = existing_client()
        client.store.delete_experiment(client.get_experiment(name).id)
    console.print(f"deleted experiment [bold]{safe(name)}[/]")


@app.command()
def restore(name: str) -> None:
    """Restore a deleted experiment (see `shipyard experiments list --all`)."""
    with friendly_errors():
        client = existing_client()
        client.store.restore_experiment(client.get_experiment(name).id)
    console.print(f"restored experiment [bold]{safe(name)}[/]")
