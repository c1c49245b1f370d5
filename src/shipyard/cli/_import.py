"""`shipyard import mlflow`: bring an MLflow store (tracking server, mlruns folder or SQLite
database) into this Shipyard store."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli._render import console, friendly_errors, progress_bar
from shipyard.cli._store import get_client

app = typer.Typer(help="Bring history from other tools into Shipyard.", no_args_is_help=True)


@app.command("mlflow")
def import_mlflow_command(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="The MLflow store: a tracking server URL (http(s)://..., with "
            "MLFLOW_TRACKING_TOKEN sent when set), an mlruns folder, or a SQLite tracking "
            "database (a file or a sqlite:///path URL).",
        ),
    ],
    project: Annotated[
        str, typer.Option(help="The project new experiments and models go to.")
    ] = "default",
) -> None:
    """Import MLflow experiments, runs (params, tags, every metric point, artifacts), logged
    models, registered models, versions and aliases; a second import adds nothing."""
    from shipyard.importers import import_mlflow, open_source

    with friendly_errors():
        store = get_client().store
        reader = open_source(source)  # a bad source is reported before anything starts
        with progress_bar() as bar:
            tasks: dict[str, object] = {}

            def advance(phase: str, done: int, total: int) -> None:
                task = tasks.get(phase)
                if task is None:
                    task = tasks[phase] = bar.add_task(phase, total=total)
                bar.update(task, completed=done)  # type: ignore[arg-type]

            summary = import_mlflow(store, reader, project=project, progress=advance)
    console.print(
        f"Imported {summary.experiments} experiments, {summary.runs} runs "
        f"({summary.metric_points:,} metric points, {summary.params} params, "
        f"{summary.artifacts} artifacts, {summary.artifact_bytes:,} bytes), "
        f"{summary.logged_models} logged models, {summary.versions} model versions, "
        f"{summary.aliases} aliases; skipped {summary.runs_skipped} runs and "
        f"{summary.versions_skipped} versions imported before."
    )
    if summary.renamed_keys:
        console.print(
            f"[yellow]{len(summary.renamed_keys)} keys had '/' replaced by '.': "
            f"{', '.join(sorted(summary.renamed_keys)[:5])}[/]"
        )
    if summary.verified:
        console.print(f"[green]Checked {summary.checked_runs} runs: every record is intact.[/]")
        return
    for problem in summary.mismatches:
        console.print(f"[red]{problem}[/]")
    raise typer.Exit(1)
