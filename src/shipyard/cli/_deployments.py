"""`shipyard deployments ...`: which model versions are served where, and their history."""

from __future__ import annotations

import typer

from shipyard.cli._render import (
    FormatOpt,
    Listing,
    OutputFormat,
    fmt_time,
    friendly_errors,
    print_listing,
    safe,
)
from shipyard.cli._store import existing_client
from shipyard.cli._ui import print_link
from shipyard.entities import Deployment, DeploymentStatus, RolloutMode

app = typer.Typer(
    help="Model servers: what each serves, where, since when (recorded by `shipyard serve`).",
    no_args_is_help=True,
)

_STATE_STYLE = {"running": "green", "stale": "yellow", "stopped": "dim"}


def _challenger(d: Deployment) -> str:
    """``canary 2 (25%)``, ``shadow 3``, or empty for a single version."""
    if d.mode is RolloutMode.SINGLE:
        return ""
    version = str(d.challenger_version) if d.challenger_version else "not loaded"
    share = f" ({d.traffic_share:.0%})" if d.mode is RolloutMode.CANARY else ""
    return f"{d.mode} @{d.challenger} {version}{share}"


@app.command("list")
def list_(
    model: str | None = typer.Option(None, "--model", "-m", help="Only this model."),
    status: DeploymentStatus | None = typer.Option(
        None, "--status", help="Only running or stopped deployments."
    ),
    limit: int = typer.Option(50, "--limit", "-n", help="How many, newest first."),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """List deployments, the most recently started first: the version each serves, its
    rollout, address and state (``stale``: running but no heartbeat for a minute)."""
    from shipyard.client import now_ms

    with friendly_errors():
        found = existing_client().store.list_deployments(model=model, status=status, limit=limit)
    now = now_ms()
    columns = ("id", "reference", "version", "challenger", "address", "state", "started",
               "heartbeat", "model", "project")  # fmt: skip
    listing = Listing("Deployments", columns, right=("version",))
    for d in found:
        state = d.state(now)
        started, beat = fmt_time(d.started_at), fmt_time(d.heartbeat_at)
        challenger = _challenger(d)
        listing.add(
            [d.id, d.reference, d.version, challenger, d.address, state, started, beat,
             d.model, d.project],
            [d.id[:8], safe(d.reference), str(d.version), safe(challenger), safe(d.address),
             f"[{_STATE_STYLE[state]}]{state}[/]", started[5:], beat[11:], safe(d.model),
             safe(d.project)],
        )  # fmt: skip
    print_listing(listing, fmt, "no deployments yet: `shipyard serve NAME@ALIAS` records one")
    if fmt == OutputFormat.table:
        print_link("deployments")


@app.command()
def history(
    deployment_id: str = typer.Argument(..., help="The deployment's id."),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """What a deployment served over time: start, alias swaps, canary and shadow changes,
    stop."""
    with friendly_errors():
        events = existing_client().store.list_deployment_events(deployment_id)
    columns = ("at", "change", "version", "mode", "challenger version", "share")
    listing = Listing(f"Deployment {deployment_id[:12]}", columns, right=("version", "share"))
    for e in events:
        listing.add([fmt_time(e.at), e.kind.value, e.version, e.mode.value,
                     e.challenger_version or None, e.traffic_share])  # fmt: skip
    print_listing(listing, fmt)
    if fmt == OutputFormat.table:
        print_link("deployments")
