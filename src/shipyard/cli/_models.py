"""`shipyard models ...`: list, show, versions, alias, promote, diff, delete, requirements."""

from __future__ import annotations

import typer
from rich.table import Table

from shipyard._markup import gates_table
from shipyard.cli._render import (
    FormatOpt,
    Listing,
    OutputFormat,
    console,
    err_console,
    fmt_time,
    fmt_value,
    friendly_errors,
    print_listing,
    safe,
)
from shipyard.cli._store import require_store
from shipyard.cli._ui import print_link
from shipyard.entities import AliasEvent, AliasOutcome, ModelVersion, RegisteredModel

app = typer.Typer(
    help="Registered models: versions, aliases, promotion gates, diffs and requirements.",
    no_args_is_help=True,
)


def _aliases(model: RegisteredModel) -> str:
    return ", ".join(f"@{a}={n}" for a, n in model.aliases.items()) or "-"


@app.command("list")
def list_(
    name_like: str | None = typer.Option(None, "--name-like", "-n", help="Name substring."),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """List registered models with their latest version and aliases."""
    from shipyard import registry

    with friendly_errors():
        require_store()
        models = registry.list_models(name_like)
    columns = ("name", "latest", "aliases", "owner", "updated", "description")
    listing = Listing("Registered models", columns, right=["latest"])
    for m in models:
        values = [m.name, m.latest_version, _aliases(m), m.owner, fmt_time(m.updated_at)]
        listing.add(
            [*values, m.description],
            [*(safe("-" if v is None else v) for v in values), safe(m.description[:60])],
        )
    print_listing(listing, fmt, "no models yet; register one with shipyard.register_model(...)")


def versions_listing(versions: list[ModelVersion], title: str) -> Listing:
    """Versions with their source run, flavor, aliases and key metrics."""
    keys = sorted({k for mv in versions for k in mv.metrics})[:4]
    columns = ["version", "aliases", "flavor", "run", "created", "by", *keys]
    listing = Listing(title, columns, right=keys)
    for mv in versions:
        aliases = " ".join(f"@{a}" for a in mv.aliases)
        metrics = [mv.metrics.get(k) for k in keys]
        listing.add(
            [mv.version, aliases, mv.flavor, mv.run_id, fmt_time(mv.created_at), mv.created_by,
             *metrics],
            [str(mv.version), aliases or "-", mv.flavor, (mv.run_id or "-")[:12],
             fmt_time(mv.created_at), safe(mv.created_by or "-"), *map(fmt_value, metrics)],
        )  # fmt: skip
    return listing


@app.command()
def versions(
    name: str = typer.Argument(..., help="Model name."), fmt: OutputFormat = FormatOpt
) -> None:
    """List every version of a model, newest first."""
    from shipyard import registry

    with friendly_errors():
        require_store()
        found = registry.list_model_versions(name)
    print_listing(versions_listing(found, f"Versions of {safe(name)}"), fmt)


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
    from shipyard.registry import Signature

    aliases = " ".join(f"@{a}" for a in mv.aliases)
    console.print(f"[bold]{safe(mv.ref)}[/]  {mv.flavor}  {aliases}")
    console.print(
        f"created {fmt_time(mv.created_at)} by {safe(mv.created_by or '-')}; "
        f"source {safe(mv.source or '-')}; run {mv.run_id or '-'}; "
        f"python {mv.python_version or '-'}"
    )
    print_link("model_version", mv.name, mv.version)
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
    from shipyard import registry

    with friendly_errors():
        require_store()
        if "/" in ref or "@" in ref:
            _show_version(registry.resolve(ref))
            return
        model = registry.get_model(ref)
        found = registry.list_model_versions(ref)
        events = registry.alias_history(ref, limit=10)
    console.print(
        f"[bold]{safe(model.name)}[/]  owner {safe(model.owner or '-')}  {safe(_aliases(model))}"
    )
    print_link("model", model.name)
    if model.description:
        console.print(safe(model.description))
    console.print(versions_listing(found, "Versions").table())
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
    from shipyard import registry

    with friendly_errors():
        require_store()
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
    if event.to_version is not None:
        print_link("model_version", name, event.to_version)


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
    from shipyard import registry

    with friendly_errors():
        require_store()
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
        failed = [g.rule for g in event.gates if not g.passed]
        err_console.print(
            f"[bold red]error:[/] not promoted: {len(failed)} of {len(event.gates)} gate(s) "
            f"failed ({safe('; '.join(failed))}); @{to} still points at {where} "
            "(the attempt is recorded in the history; --force overrides)",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    forced = " [yellow](forced past failing gates)[/]" if event.forced else ""
    console.print(f"[green]promoted[/] {safe(name)}@{to} -> version {event.to_version}{forced}")
    if event.to_version is not None:
        print_link("model_version", name, event.to_version)


@app.command()
def diff(
    a: str = typer.Argument(..., help="A version: churn/3, churn@champion (or a name: latest)."),
    b: str = typer.Argument(..., help="Another version."),
    all_rows: bool = typer.Option(False, "--all", help="Show equal rows too."),
) -> None:
    """Params, metrics, signature and requirements of two versions side by side."""
    from shipyard import registry

    with friendly_errors():
        require_store()
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
    from shipyard import registry

    what = f"{name}/{version}" if version is not None else f"model {name} and all its versions"
    if not yes and not typer.confirm(f"delete {what}?"):
        raise typer.Exit(1)
    with friendly_errors():
        require_store()
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
    from shipyard import registry

    with friendly_errors():
        require_store()
        found = registry.find_version(ref)
    typer.echo(f"# {found.ref}: Python {found.python_version or 'unknown'}")
    for line in found.requirements:
        typer.echo(line)
