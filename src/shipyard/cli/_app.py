"""The `shipyard` command: its root options and the table of its commands and groups.

Each command's module is imported when that command runs (or is completed, or shows its own
help), not when the command line starts: ``shipyard --help`` reads names and summaries from
:data:`COMMANDS` and imports none of the command modules.
"""

from __future__ import annotations

import typer

from shipyard.cli import _help
from shipyard.cli._lazy import Entry, LazyGroup

#: Every command and group of `shipyard`, in the order its help lists them.
COMMANDS: dict[str, Entry] = {
    "scheduler": Entry(
        "shipyard.cli._pipelines:scheduler_command",
        "Start due pipeline runs of every schedule and run due monitors, until Ctrl-C. One "
        "scheduler is active per store; others started beside it stand by and take over when "
        "it stops.",
    ),
    "lineage": Entry(
        "shipyard.cli._lineage:lineage_command",
        "Walk the lineage graph upstream or downstream of a dataset, run or model.",
    ),
    "audit": Entry(
        "shipyard.cli._access:audit",
        "Show the server's audit log of writes, newest first (admins).",
    ),
    "demo": Entry(
        "shipyard.cli._demo:demo",
        "Play the whole lifecycle on bundled data, in a fresh project of this folder's store.",
    ),
    "server": Entry("shipyard.cli._server:server", "Run the Shipyard server for a team."),
    "ui": Entry(
        "shipyard.cli._ui:ui",
        "Open the web UI: runs, models, lineage, pipelines, features, monitors, deployments.",
    ),
    "fsck": Entry(
        "shipyard.cli._maintenance:fsck",
        "Check that every referenced blob is present and intact and no version is "
        "half-registered; exit 1 when anything is wrong.",
    ),
    "gc": Entry(
        "shipyard.cli._maintenance:gc",
        "Remove stale temporary files and scratch folders and blobs no record references.",
    ),
    "init": Entry(
        "shipyard.cli._project:init",
        "Start a project: features, a training pipeline with promotion gates, tests, "
        "pre-commit hooks and GitHub Actions and GitLab CI workflows.",
    ),
    "check": Entry(
        "shipyard.cli._project:check",
        "Check that the project's feature definitions and pipelines load and build; exit 1 "
        "when one does not.",
    ),
    "doctor": Entry(
        "shipyard.cli._project:doctor",
        "Score the project's MLOps maturity (Microsoft levels 0-4, Google levels 0-2) from its "
        "repository and store, with the next step for each area.",
    ),
    "reproduce": Entry(
        "shipyard.cli._project:reproduce",
        "Re-run the pipeline behind a model version at its recorded commit, data and params, "
        "and compare the new model's hash and metrics; exit 1 when they differ.",
    ),
    "info": Entry(
        "shipyard.cli._info:info", "Show which store, server and project commands run here use."
    ),
    "serve": Entry(
        "shipyard.cli._serving:serve",
        "Serve a registered model over the Open Inference Protocol (V2) and /predict.",
    ),
    "predict": Entry(
        "shipyard.cli._serving:predict",
        "Score a Parquet file in chunks, here or on Ray; the output is the input plus a "
        "`prediction` column, in the input's order.",
    ),
    "build": Entry(
        "shipyard.cli._serving:build",
        "Write a self-contained build context (Dockerfile, pinned requirements, model files).",
    ),
    "version": Entry("shipyard.cli._version:version", "Print the Shipyard version."),
    "experiments": Entry(
        "shipyard.cli._experiments:app", "Create, list, rename, delete and restore experiments."
    ),
    "runs": Entry(
        "shipyard.cli._runs:app", "List, inspect, compare, search, delete, restore and reap runs."
    ),
    "models": Entry(
        "shipyard.cli._models:app",
        "Registered models: versions, aliases, promotion gates, diffs and requirements.",
    ),
    "data": Entry(
        "shipyard.cli._data:app", "Register, list, inspect and compare dataset versions."
    ),
    "features": Entry(
        "shipyard.cli._features:app", "Define, materialize and serve features (the feature store)."
    ),
    "pipelines": Entry(
        "shipyard.cli._pipelines:app", "Run, inspect, resume and schedule pipelines."
    ),
    "monitor": Entry("shipyard.cli._monitor:app", "Monitor models: drift, performance, alerts."),
    "deploy": Entry(
        "shipyard.cli._deploy:app",
        "Render Kubernetes, KServe, compose, Terraform, Grafana and alert-rule files.",
    ),
    "deployments": Entry(
        "shipyard.cli._deployments:app",
        "Model servers: what each serves, where, since when (recorded by `shipyard serve`).",
    ),
    "import": Entry("shipyard.cli._import:app", "Bring history from other tools into Shipyard."),
    "users": Entry("shipyard.cli._access:users", "Create users and give them roles on projects."),
    "tokens": Entry("shipyard.cli._access:tokens", "Create, list and revoke API tokens."),
}


class Root(LazyGroup):
    """The `shipyard` command: its commands are :data:`COMMANDS`."""

    table = COMMANDS


_help.install()

app = typer.Typer(
    name="shipyard",
    cls=Root,
    help="Shipyard: track, register, serve and monitor models, embedded or at scale.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from shipyard.cli._version import echo_version

        echo_version()
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the Shipyard version and exit.",
    ),
) -> None:
    """Shipyard: track, register, serve and monitor models, embedded or at scale."""
