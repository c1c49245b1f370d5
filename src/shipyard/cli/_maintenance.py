"""`shipyard fsck` and `shipyard gc`: check the stores, and remove what nothing needs."""

from __future__ import annotations

import re

import typer
from rich.table import Table

from shipyard.cli._data import _size
from shipyard.cli._render import console, friendly_errors, safe

_GRACE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _grace(text: str) -> float:
    match = _GRACE.match(text)
    if match is None:
        raise typer.BadParameter(f"{text!r}: give a duration such as 90s, 30m, 1h or 2d")
    return float(match[1]) * _UNIT_S[match[2]]


def fsck(
    repair: bool = typer.Option(
        False, "--repair", help="Drop half-registrations; list the blobs to upload again."
    ),
    quick: bool = typer.Option(False, "--quick", help="Check presence and size only (no hashing)."),
) -> None:
    """Check that every referenced blob is present and intact and no version is
    half-registered; exit 1 when anything is wrong."""
    with friendly_errors(), console.status("checking blobs and registrations"):
        from shipyard import maintenance  # the database layer loads only when a command runs

        report = maintenance.fsck(repair=repair, full=not quick)
    if report.ok:
        console.print(
            f"[green]ok[/]: {report.blobs_checked:,} blobs ({report.references:,} references) "
            "present and intact, no half-registered versions"
        )
        return
    table = Table(title="Problems", header_style="bold")
    for column in ("problem", "subject", "detail", "referenced by", "what to do"):
        table.add_column(column)
    for problem in report.problems:
        owners = ", ".join(problem.owners[:3]) + (
            f" (+{len(problem.owners) - 3})" if len(problem.owners) > 3 else ""
        )
        table.add_row(
            problem.kind.replace("_", " "),
            safe(problem.subject),
            safe(problem.detail),
            safe(owners),
            safe(problem.action),
        )
    console.print(table)
    if report.needs_upload:
        console.print(f"{len(report.needs_upload)} blobs need uploading again")
    raise typer.Exit(1)


def gc(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List what would be removed and its size; remove nothing."
    ),
    grace: str = typer.Option(
        "1h", "--grace", help="Leave alone what changed more recently than this (90s, 30m, 1h)."
    ),
) -> None:
    """Remove stale temporary files and scratch folders and blobs no record references."""
    grace_s = _grace(grace)
    with friendly_errors():
        from shipyard import maintenance

        report = maintenance.gc(dry_run=dry_run, grace_s=grace_s)
    verb = "would remove" if report.dry_run else "removed"
    if report.items:
        table = Table(title=f"gc {verb}", header_style="bold")
        for column in ("kind", "what", "size", "age"):
            table.add_column(column)
        for item in report.items:
            table.add_row(
                item.kind.replace("_", " "),
                safe(item.location),
                _size(item.size),
                f"{item.age_s / 3600:.1f} h",
            )
        console.print(table)
    console.print(
        f"{verb} {len(report.items)} items, {_size(report.total_bytes)}; kept "
        f"{report.kept_young} younger than {grace}"
    )
