"""`shipyard features ...`: plan and apply definitions, list and show them, materialize them
online, look up online values and check training/serving skew."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Optional

import typer
from rich.table import Table

from shipyard.cli._lazy import LazyModule
from shipyard.cli._render import console, fmt_time, fmt_value, friendly_errors, progress_bar, safe
from shipyard.cli._ui import print_link
from shipyard.errors import InvalidArgument

if TYPE_CHECKING:
    from shipyard import features as fs
else:
    fs = LazyModule("shipyard.features")

app = typer.Typer(
    help="Define, materialize and serve features (the feature store).", no_args_is_help=True
)
_COLORS = {"create": "green", "update": "yellow", "delete": "red", "unchanged": "dim"}


def _changes(changes: list[fs.Change], title: str) -> None:
    table = Table(title=title, header_style="bold")
    for column in ("action", "kind", "name"):
        table.add_column(column)
    for c in changes:
        color = _COLORS.get(c.action, "")
        table.add_row(f"[{color}]{c.action}[/]", c.kind, safe(c.name))
    console.print(table)


@app.command()
def plan(
    path: str = typer.Argument("features.py", help="The definitions file (or its folder)."),
    prune: bool = typer.Option(False, help="Also delete definitions the file no longer has."),
) -> None:
    """Show what `apply` would change in the registry."""
    with friendly_errors():
        changes = fs.plan(fs.load_definitions(path), prune=prune)
    _changes(changes, "Plan")


@app.command()
def apply(
    path: str = typer.Argument("features.py", help="The definitions file (or its folder)."),
    prune: bool = typer.Option(False, help="Also delete definitions the file no longer has."),
) -> None:
    """Check every source against its definition, then store the definitions."""
    with friendly_errors(), console.status("checking sources"):
        changes = fs.apply(fs.load_definitions(path), prune=prune)
    _changes(changes, "Applied")


@app.command("list")
def list_(
    kind: Optional[str] = typer.Option(None, help="entity, feature_view, service..."),
) -> None:
    """List the definitions in the registry."""
    with friendly_errors():
        objects = fs.list_definitions(kind)
    table = Table(title="Feature definitions", header_style="bold")
    for column in ("kind", "name", "details", "updated"):
        table.add_column(column)
    for o in objects:
        spec = o.spec
        details = spec.get("join_keys") or [f["name"] for f in spec.get("schema", [])]
        details = details or spec.get("features", [])
        table.add_row(
            o.kind, safe(o.name), safe(", ".join(map(str, details))), fmt_time(o.updated_at)
        )
    console.print(table)


@app.command()
def show(
    name: str = typer.Argument(..., help="A feature view, service, entity or on-demand view."),
    as_json: bool = typer.Option(False, "--json", help="Print the spec as JSON."),
) -> None:
    """Show one definition (and a view's materialization watermark)."""
    with friendly_errors():
        found = [o for o in fs.list_definitions() if o.name == name]
        if not found:
            fs.get_definition("feature_view", name)  # raises NotFound naming the known views
        windows = fs.materializations(name, 1) if found[0].kind == "feature_view" else []
    obj = found[0]
    if as_json:
        console.print_json(json.dumps(obj.to_dict()))
        return
    console.print(f"[bold]{obj.kind} {safe(obj.name)}[/]  digest {obj.digest[:12]}")
    print_link("feature", obj.kind, obj.name)
    for key, value in obj.spec.items():
        text = json.dumps(value) if isinstance(value, list | dict) else fmt_value(value)
        console.print(f"  {key}: {safe(text)}")
    if windows:
        console.print(f"  watermark: {fmt_time(windows[0].end)} ({windows[0].rows:,} rows)")


def _when(text: Optional[str]) -> Optional[datetime]:
    return None if text is None else datetime.fromisoformat(text)


def _materialize(
    incremental: bool, start: Optional[str], end: Optional[str], views: list[str]
) -> None:
    with (
        friendly_errors(),
        progress_bar() as bar,
    ):
        tasks: dict[str, object] = {}

        def report(view: str, done: int, total: int) -> None:
            if view not in tasks:
                tasks[view] = bar.add_task(view, total=total)
            bar.update(tasks[view], completed=done, total=total)  # type: ignore[arg-type]

        if incremental:
            done = fs.materialize_incremental(_when(end), views or None, progress=report)
        else:
            done = fs.materialize(_when(start), _when(end), views or None, progress=report)
    for m in done:
        console.print(
            f"[bold]{safe(m.view)}[/]: {m.rows:,} entities, window {fmt_time(m.start)} .. "
            f"{fmt_time(m.end)}"
        )


@app.command()
def materialize(
    views: list[str] = typer.Argument(None, help="Feature views (default: every online view)."),
    start: Optional[str] = typer.Option(None, help="Window start, ISO time (default: all)."),
    end: Optional[str] = typer.Option(None, help="Window end, ISO time (default: now)."),
) -> None:
    """Copy the latest values per entity in [start, end) into the online store."""
    _materialize(False, start, end, views)


@app.command("materialize-incremental")
def materialize_incremental(
    views: list[str] = typer.Argument(None, help="Feature views (default: every online view)."),
    end: Optional[str] = typer.Option(None, help="Window end, ISO time (default: now)."),
) -> None:
    """Materialize each view from its watermark up to END (default: now)."""
    _materialize(True, None, end, views)


def _features_arg(features: list[str], service: Optional[str]) -> list[str] | str:
    return service if service else features


def _entity_row(pairs: list[str]) -> dict[str, object]:
    """The entity row of ``--entity key=value`` options (integers as numbers)."""
    row: dict[str, object] = {}
    for item in pairs:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"--entity {item!r} must look like key=value", field="entity")
        row[key] = int(value) if value.lstrip("-").isdigit() else value
    return row


@app.command()
def get(
    entity: list[str] = typer.Option(..., "--entity", "-e", help="key=value (repeat per key)."),
    features: list[str] = typer.Argument(None, help="'view:feature' names."),
    service: Optional[str] = typer.Option(None, "--service", "-s", help="A feature service."),
) -> None:
    """Look up online values of one entity."""
    with friendly_errors():
        row = _entity_row(entity)
        got = fs.get_online_features([row], _features_arg(features, service))
    table = Table(title="Online features", header_style="bold")
    for column in ("feature", "value", "status", "event time"):
        table.add_column(column)
    for name, values in got.values.items():
        stamp = got.event_timestamps[name][0]
        table.add_row(
            safe(name), safe(fmt_value(values[0])), got.statuses[name][0], str(stamp or "")
        )
    console.print(table)


@app.command("check-skew")
def check_skew(
    features: list[str] = typer.Argument(None, help="'view:feature' names."),
    service: Optional[str] = typer.Option(None, "--service", "-s", help="A feature service."),
    sample: int = typer.Option(100, help="Entities to compare per view."),
) -> None:
    """Compare online values with offline values at the watermark for a sample of entities."""
    with friendly_errors(), console.status("comparing online and offline values"):
        report = fs.check_skew(_features_arg(features, service), sample=sample)
    if report.ok:
        console.print(f"[green]no skew[/]: {report.checked:,} values match")
        return
    table = Table(title=f"{len(report.mismatches)} of {report.checked} values differ")
    for column in ("view", "entity", "feature", "online", "offline"):
        table.add_column(column)
    for m in report.mismatches[:50]:
        table.add_row(
            safe(m.view), safe(m.entity), safe(m.feature), safe(m.online), safe(m.offline)
        )
    console.print(table)
    raise typer.Exit(1)
