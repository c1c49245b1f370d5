"""`shipyard runs ...`: list, show, compare, search, delete, restore, reap."""

from __future__ import annotations

import typer
from rich.table import Table

from shipyard.cli._render import (
    FormatOpt,
    OutputFormat,
    console,
    fmt_duration,
    fmt_time,
    fmt_value,
    friendly_errors,
    print_listing,
    runs_listing,
    safe,
    status_text,
)
from shipyard.cli._store import existing_client as get_client
from shipyard.cli._ui import print_link
from shipyard.entities import Lifecycle, Run

app = typer.Typer(
    help="List, inspect, compare, search, delete, restore and reap runs.", no_args_is_help=True
)

ExperimentOpt = typer.Option(None, "--experiment", "-e", help="Experiment name (default: all).")
LimitOpt = typer.Option(20, "--limit", "-n", help="How many runs to show.")


def _resolve(run_id: str, deleted: bool = False) -> Run:
    """A run by full id or unique id prefix (as shown in tables)."""
    return get_client().find_run(run_id, include_deleted=deleted)


def _search(
    experiment: str | None,
    filter: str | None,
    order_by: list[str],
    limit: int,
    fmt: OutputFormat = OutputFormat.table,
) -> None:
    with friendly_errors():
        page = get_client().search_runs(experiment, filter, order_by or None, limit)
    title = f"Runs ({safe(experiment) if experiment else 'all experiments'})"
    print_listing(runs_listing(page.runs, title=title), fmt)
    if page.next_page_token and fmt is OutputFormat.table:
        console.print(f"[dim]more runs match; raise --limit (showing {len(page.runs)})[/]")


@app.command("list")
def list_(
    experiment: str | None = ExperimentOpt, limit: int = LimitOpt, fmt: OutputFormat = FormatOpt
) -> None:
    """List the newest runs."""
    _search(experiment, None, [], limit, fmt)


@app.command()
def search(
    filter: str = typer.Argument(..., help="e.g. \"metrics.auc > 0.9 and params.model = 'rf'\""),
    experiment: str | None = ExperimentOpt,
    order_by: list[str] = typer.Option([], "--order-by", "-o", help="e.g. 'metrics.auc desc'"),
    limit: int = LimitOpt,
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Find runs with a filter expression."""
    _search(experiment, filter, order_by, limit, fmt)


@app.command()
def show(run_id: str) -> None:
    """Show one run: state, parent and child runs, params, metrics, tags and artifacts."""
    with friendly_errors():
        client = get_client()
        run = _resolve(run_id)
        artifacts = client.store.list_artifacts(run.id)
        parent = client.get_run(run.parent_run_id) if run.parent_run_id else None
        children = [client.get_run(child) for child in client.store.child_runs(run.id)]
        from shipyard.tracking import recorded_environment

        facts, source = recorded_environment(run, client.store)
    deleted = "  [red](deleted)[/]" if run.lifecycle == Lifecycle.DELETED else ""
    console.print(f"[bold]{safe(run.name)}[/]  {run.id}  {status_text(run.status)}{deleted}")
    console.print(
        f"started {fmt_time(run.start_time)}, ended {fmt_time(run.end_time)}, "
        f"took {fmt_duration(run.duration_ms)}, by {safe(run.user or '-')}"
    )
    print_link("run", run.id)
    if parent is not None:
        console.print(f"parent run {safe(parent.name)}  {parent.id}  {status_text(parent.status)}")
    # facts recorded on an ancestor only (a run nested by an older version) are shown too
    inherited = {} if source.id == run.id else facts
    tags = {**run.tags, **inherited}
    for title, values in (("Params", run.params), ("Metrics", run.metrics), ("Tags", tags)):
        table = Table(title=title, header_style="bold", show_edge=False)
        table.add_column("key")
        table.add_column("value", overflow="fold")
        for key in sorted(values):
            note = f"  [dim](from run {source.id[:8]})[/]" if key in inherited else ""
            table.add_row(safe(key), safe(values[key]) + note)
        console.print(table)
    if children:
        console.print(runs_listing(children, title="Child runs").table())
    table = Table(title="Artifacts", header_style="bold", show_edge=False)
    for column in ("path", "size", "sha256"):
        table.add_column(column)
    for info in artifacts:
        table.add_row(safe(info.path), f"{info.size:,}", info.digest[:16])
    console.print(table)


@app.command()
def compare(run_ids: list[str] = typer.Argument(..., help="Two or more run ids.")) -> None:
    """Line up params and metrics of runs side by side; differing rows are marked."""
    with friendly_errors():
        runs = [_resolve(r) for r in run_ids]
    table = Table(title="Run comparison", header_style="bold")
    table.add_column("")
    table.add_column("key")
    for run in runs:
        table.add_column(f"{safe(run.name)}\n{run.id[:8]}", justify="right")
    for kind, columns in (
        ("param", [r.params for r in runs]),
        ("metric", [r.metrics for r in runs]),
    ):
        keys = sorted({k for c in columns for k in c})
        for key in keys:
            values = [c.get(key) for c in columns]
            # compare the stored values, not their 4-digit display (0.91234 != 0.91236)
            differs = len({repr(v) for v in values}) > 1
            shown = [fmt_value(v) for v in values]
            if differs and len(set(shown)) == 1:
                shown = [fmt_value(v, exact=True) for v in values]
            table.add_row(
                "[yellow]≠[/]" if differs else "",
                f"{kind}s.{safe(key)}",
                *(f"[bold yellow]{safe(t)}[/]" if differs else safe(t) for t in shown),
            )
    console.print(table)


@app.command()
def delete(run_ids: list[str] = typer.Argument(..., help="Run ids to delete.")) -> None:
    """Delete runs (soft delete: `shipyard runs restore` undoes it; nested runs go too)."""
    with friendly_errors():
        ids = [_resolve(r).id for r in run_ids]
        get_client().delete_runs(ids)
    console.print(f"deleted {len(ids)} run(s)")


@app.command()
def restore(run_ids: list[str] = typer.Argument(..., help="Run ids to restore.")) -> None:
    """Restore deleted runs."""
    with friendly_errors():
        ids = [_resolve(r, deleted=True).id for r in run_ids]
        get_client().store.restore_runs(ids)
    console.print(f"restored {len(ids)} run(s)")


@app.command()
def reap(
    experiment: str | None = ExperimentOpt,
    timeout: float | None = typer.Option(
        None,
        "--timeout",
        min=0,
        help="Seconds without a heartbeat after which a run on another machine is dead "
        "(default: the heartbeat_timeout setting; 0: judge by the owner process only).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list the dead runs."),
) -> None:
    """Mark KILLED the RUNNING runs whose process is dead (killed, crashed or silent).

    Reading or searching runs does this for the runs it reads; this command sweeps them all.
    Finished runs, and runs whose process is alive, are never touched.
    """
    with friendly_errors():
        dead = get_client().reap_runs(experiment, timeout=timeout, dry_run=dry_run)
    if not dead:
        console.print("no dead runs: every RUNNING run has a live process")
        return
    console.print(runs_listing(dead, title="Dead runs").table())
    verb = "would mark" if dry_run else "marked"
    console.print(f"{verb} {len(dead)} run(s) KILLED")
