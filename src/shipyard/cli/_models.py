"""`shipyard models ...`: list, show, versions, alias, promote, diff, delete, requirements."""

from __future__ import annotations

import typer
from rich.table import Table

from shipyard import registry
from shipyard._markup import gates_table
from shipyard.cli._render import (
    console,
    err_console,
    fmt_time,
    fmt_value,
    friendly_errors,
    safe,
)
from shipyard.entities import AliasEvent, AliasOutcome, ModelVersion, RegisteredModel
from shipyard.registry import Signature

app = typer.Typer(
    help="Registered models: versions, aliases, promotion gates, diffs and requirements.",
    no_args_is_help=True,
)


def _aliases(model: RegisteredModel) -> str:
    return ", ".join(f"@{a}={n}" for a, n in model.aliases.items()) or "-"


@app.command("list")
def list_(
    name_like: str | None = typer.Option(None, "--name-like", "-n", help="Name substring."),
) -> None:
    """List registered models with their latest version and aliases."""
    with friendly_errors():
        models = registry.list_models(name_like)
    table = Table(title="Registered models", header_style="bold")
    for column in ("name", "latest", "aliases", "owner", "updated", "description"):
        table.add_column(column, justify="right" if column == "latest" else "left")
    for m in models:
        table.add_row(
            safe(m.name),
            "-" if m.latest_version is None else str(m.latest_version),
            safe(_aliases(m)),
            safe(m.owner or "-"),
            fmt_time(m.updated_at),
            safe(m.description[:60]),
        )
    console.print(table)
    if not models:
        console.print("[dim]no models yet; register one with shipyard.register_model(...)[/]")


def versions_table(versions: list[ModelVersion], title: str) -> Table:
    """Versions with their source run, flavor, aliases and key metrics."""
    keys = sorted({k for mv in versions for k in mv.metrics})[:4]
    table = Table(title=title, header_style="bold")
    for column in ("version", "aliases", "flavor", "run", "created", "by"):
        table.add_column(column)
    for key in keys:
        table.add_column(safe(key), justify="right")
    for mv in versions:
        table.add_row(
            str(mv.version),
            " ".join(f"@{a}" for a in mv.aliases) or "-",
            mv.flavor,
            (mv.run_id or "-")[:12],
            fmt_time(mv.created_at),
            safe(mv.created_by or "-"),
            *(fmt_value(mv.metrics.get(k)) for k in keys),
        )
    return table


@app.command()
def versions(name: str = typer.Argument(..., help="Model name.")) -> None:
    """List every version of a model, newest first."""
    with friendly_errors():
        found = registry.list_model_versions(name)
    console.print(versions_table(found, f"Versions of {safe(name)}"))


def history_table(events: list[AliasEvent], title: str) -> Table:
    """The alias audit history: who moved what, when, why, and the gate outcome."""
    table = Table(title=title, header_style="bold")
    for column in ("when", "alias", "from", "to", "outcome", "gates", "by", "reason"):
        table.add_column(column)
    for e in events:
        outcome = {
            AliasOutcome.MOVED: "[green]moved",
            AliasOutcome.REJECTED: "[red]rejected",
            AliasOutcome.DELETED: "deleted",
        }
        text = outcome.get(e.outcome, e.outcome) + (" [yellow](forced)[/]" if e.forced else "")
        passed = sum(g.passed for g in e.gates)
        table.add_row(
            fmt_time(e.created_at),
            f"@{e.alias}",
            "-" if e.from_version is None else str(e.from_version),
            "-" if e.to_version is None else str(e.to_version),
            text,
            f"{passed}/{len(e.gates)}" if e.gates else "-",
            safe(e.actor or "-"),
            safe(e.reason or ""),
        )
    return table


def _show_version(mv: ModelVersion) -> None:
    aliases = " ".join(f"@{a}" for a in mv.aliases)
    console.print(f"[bold]{safe(mv.ref)}[/]  {mv.flavor}  {aliases}")
    console.print(
        f"created {fmt_time(mv.created_at)} by {safe(mv.created_by or '-')}; "
        f"source {safe(mv.source or '-')}; run {mv.run_id or '-'}; "
        f"python {mv.python_version or '-'}"
    )
    if mv.description:
        console.print(safe(mv.description))
    table = Table(title="Metrics (snapshot at registration)", header_style="bold", show_edge=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in sorted(mv.metrics):
        table.add_row(safe(key), fmt_value(mv.metrics[key]))
    console.print(table)
    if mv.signature:
        console.print("[bold]Signature[/]")
        console.print(safe(str(Signature.from_dict(mv.signature))))
    else:
        console.print("[dim]no signature: predict inputs are not checked[/]")
    console.print("[bold]Requirements[/]  " + safe(", ".join(mv.requirements) or "-"))
    table = Table(title="Files (sha256-verified on load)", header_style="bold", show_edge=False)
    for column in ("path", "size", "sha256"):
        table.add_column(column)
    for f in mv.files:
        table.add_row(safe(f.path), f"{f.size:,}", f.digest[:16])
    console.print(table)
    if mv.tags:
        console.print(
            "tags: " + safe(", ".join(f"{k}={val}" for k, val in sorted(mv.tags.items())))
        )


@app.command()
def show(
    ref: str = typer.Argument(..., help="A model name, or a version: churn/3, churn@champion."),
) -> None:
    """Show a model (its versions and alias history) or one version in full."""
    with friendly_errors():
        if "/" in ref or "@" in ref:
            _show_version(registry.resolve(ref))
            return
        model = registry.get_model(ref)
        found = registry.list_model_versions(ref)
        events = registry.alias_history(ref, limit=10)
    console.print(
        f"[bold]{safe(model.name)}[/]  owner {safe(model.owner or '-')}  {safe(_aliases(model))}"
    )
    if model.description:
        console.print(safe(model.description))
    console.print(versions_table(found, "Versions"))
    console.print(history_table(events, "Alias history (latest 10)"))


@app.command()
def alias(
    name: str = typer.Argument(..., help="Model name."),
    alias_name: str = typer.Argument(..., metavar="ALIAS", help="Alias, e.g. champion."),
    version: str | None = typer.Argument(None, help="Version number to point it at."),
    delete: bool = typer.Option(False, "--delete", help="Remove the alias."),
    reason: str = typer.Option("", "--reason", "-r", help="Why (kept in the history)."),
) -> None:
    """Point an alias at a version, remove it (--delete), or show its history (no VERSION)."""
    with friendly_errors():
        if delete:
            event = registry.delete_alias(name, alias_name, reason=reason)
            console.print(f"removed @{event.alias} (was version {event.from_version})")
            return
        if version is None:
            events = registry.alias_history(name, alias_name)
            console.print(history_table(events, f"History of {safe(name)}@{alias_name}"))
            return
        event = registry.set_alias(name, alias_name, version, reason=reason)
    console.print(
        f"{safe(name)}@{event.alias} -> version {event.to_version}"
        + (f" (was {event.from_version})" if event.from_version else "")
    )


@app.command()
def promote(
    name: str = typer.Argument(..., help="Model name."),
    version: str = typer.Option(..., "--version", "-v", help="Version number (or an alias)."),
    to: str = typer.Option("champion", "--to", help="Alias to move."),
    require: list[str] = typer.Option(
        [], "--require", help="Gate, e.g. 'metrics.auc >= champion.metrics.auc' (repeatable)."
    ),
    force: bool = typer.Option(False, "--force", help="Move even if a gate fails (recorded)."),
    reason: str = typer.Option("", "--reason", "-r", help="Why (kept in the history)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Evaluate the gates, change nothing."),
) -> None:
    """Move an alias to a version if every --require gate passes; the attempt is recorded."""
    with friendly_errors():
        event = registry.promote(
            name, version, to, require=require, force=force, reason=reason,
            dry_run=dry_run, raise_on_reject=False,
        )  # fmt: skip
    console.print(gates_table(event, f"Promotion of {safe(name)}/{event.to_version} to @{to}"))
    if dry_run:
        console.print(f"dry run: gates {'pass' if event.passed else 'fail'}; nothing changed")
        if not event.passed:
            raise typer.Exit(1)
        return
    if event.outcome == AliasOutcome.REJECTED:
        where = f"version {event.from_version}" if event.from_version else "nothing"
        err_console.print(
            f"[bold red]error:[/] not promoted: a gate failed; @{to} still points at {where} "
            "(the attempt is recorded in the history; --force overrides)",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    forced = " [yellow](forced past failing gates)[/]" if event.forced else ""
    console.print(f"[green]promoted[/] {safe(name)}@{to} -> version {event.to_version}{forced}")


@app.command()
def diff(
    a: str = typer.Argument(..., help="A version: churn/3, churn@champion (or a name: latest)."),
    b: str = typer.Argument(..., help="Another version."),
    all_rows: bool = typer.Option(False, "--all", help="Show equal rows too."),
) -> None:
    """Params, metrics, signature and requirements of two versions side by side."""
    with friendly_errors():
        left, right, rows = registry.diff_versions(a, b)
    table = Table(title=f"{safe(left.ref)} vs {safe(right.ref)}", header_style="bold")
    for column in ("", "section", "key", left.ref, right.ref):
        table.add_column(safe(column))
    shown = 0
    for row in rows:
        if not (row.differs or all_rows or row.section == "version"):
            continue
        shown += 1
        style = "bold yellow" if row.differs else ""
        cells = [safe(fmt_value(x)) for x in (row.a, row.b)]
        table.add_row(
            "[yellow]≠[/]" if row.differs else "",
            row.section,
            safe(row.key),
            *(f"[{style}]{c}[/]" if style else c for c in cells),
        )
    console.print(table)
    same = sum(not r.differs for r in rows if r.section != "version")
    if same and not all_rows:
        console.print(f"[dim]{same} equal rows hidden; --all shows them[/]")


@app.command()
def delete(
    name: str = typer.Argument(..., help="Model name."),
    version: int | None = typer.Option(None, "--version", "-v", help="Delete only this version."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a version, or a whole model with all its versions and history."""
    what = f"{name}/{version}" if version is not None else f"model {name} and all its versions"
    if not yes and not typer.confirm(f"delete {what}?"):
        raise typer.Exit(1)
    with friendly_errors():
        if version is not None:
            registry.delete_model_version(name, version)
        else:
            registry.delete_model(name)
    console.print(f"deleted {safe(what)}")


@app.command()
def requirements(
    ref: str = typer.Argument(..., help="A version: churn/3 or churn@champion."),
) -> None:
    """Print a version's pinned requirements (requirements.txt format)."""
    with friendly_errors():
        found = registry.find_version(ref)
    typer.echo(f"# {found.ref}: Python {found.python_version or 'unknown'}")
    for line in found.requirements:
        typer.echo(line)
