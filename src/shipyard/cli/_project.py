"""`shipyard init` and `shipyard check`: start a project, and check that its feature
definitions and pipelines load (the project's pre-commit hook)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from shipyard.cli._lazy import LazyModule
from shipyard.cli._render import console, friendly_errors, safe

project = LazyModule("shipyard.project")


def init(
    target: Path = typer.Argument(..., help="The new project's folder (new or empty)."),
    name: str = typer.Option(
        None, "--name", help="The project name; the folder's name when not given."
    ),
) -> None:
    """Start a project: features, a training pipeline with promotion gates, tests,
    pre-commit hooks and GitHub Actions and GitLab CI workflows."""
    with friendly_errors():
        written = project.init_project(target, name)
    for path in written:
        console.print(f"  [green]created[/] {safe(str(target / path))}")
    console.print(
        f"\nNext: cd {safe(str(target))} && pip install -e '.[dev]' && pre-commit install && pytest"
    )


def check(
    path: Path = typer.Argument(Path("."), help="The project folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check that the project's feature definitions and pipelines load and build; exit 1
    when one does not."""
    with friendly_errors():
        report = project.check_project(path)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        table = Table(title=f"shipyard check {safe(str(path))}")
        for column in ("", "kind", "what", "detail"):
            table.add_column(column)
        for f in report.findings:
            mark = "[green]ok[/]" if f.ok else "[bold red]failed[/]"
            table.add_row(mark, f.kind, safe(f.target), safe(f.detail))
        console.print(table)
        if not report.findings:
            console.print(
                "[bold red]nothing to check:[/] add [tool.shipyard] features and pipelines "
                "to pyproject.toml, or a features.py"
            )
    if not report.ok:
        raise typer.Exit(1)


def doctor(
    path: Path = typer.Argument(Path("."), help="The project's repository."),
    as_json: bool = typer.Option(False, "--json", help="Print the assessment as JSON (for CI)."),
) -> None:
    """Score the project's MLOps maturity (Microsoft levels 0-4, Google levels 0-2) from its
    repository and store, with the next step for each area."""
    with friendly_errors():
        found = project.assess(path)
    if as_json:
        typer.echo(json.dumps(found.to_dict(), indent=2))
        return
    table = Table(title=f"MLOps maturity of {safe(str(path))} (see docs/maturity.md)")
    for column in ("area", "level", "in place", "next step"):
        table.add_column(column)
    for area in found.areas:
        shown = "; ".join(area.met) or "-"
        table.add_row(area.area, f"{area.level}/4", safe(shown), safe(area.next_step or "-"))
    console.print(table)
    console.print(
        f"Microsoft MLOps maturity level [bold]{found.microsoft_level}[/] of 4, "
        f"Google MLOps level [bold]{found.google_level}[/] of 2"
    )


def reproduce(
    ref: str = typer.Argument(..., help="The model version: NAME/VERSION or NAME@ALIAS."),
    repo: Path = typer.Option(Path("."), "--repo", help="The git repository it was trained from."),
    fresh_env: bool = typer.Option(
        False, "--fresh-env", help="Re-run in a new virtualenv built from the recorded packages."
    ),
    offline: bool = typer.Option(
        False, "--offline", help="With --fresh-env: install from the uv cache only."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Re-run the pipeline behind a model version at its recorded commit, data and params,
    and compare the new model's hash and metrics; exit 1 when they differ."""
    with friendly_errors(), console.status(f"reproducing {safe(ref)}"):
        found = project.reproduce(ref, repo=repo, fresh_env=fresh_env, offline=offline)
    if as_json:
        typer.echo(json.dumps(found.to_dict(), indent=2, default=str))
    else:
        verdict = "[green]reproduced[/]" if found.reproduced else "[bold red]differs[/]"
        console.print(f"{safe(found.model)}: {verdict}")
        console.print(f"  commit {found.commit[:12] or '-'}, data {', '.join(found.datasets)}")
        console.print(f"  hash {found.original_hash[:16]} -> {found.new_hash[:16]}")
        if found.environment.get("kind") == "fresh":
            console.print(
                f"  fresh environment: {found.environment['installed']} recorded packages "
                "installed, shipyard from this source"
            )
        for line in found.differences:
            console.print(f"  {safe(line)}")
    if not found.reproduced:
        raise typer.Exit(1)
