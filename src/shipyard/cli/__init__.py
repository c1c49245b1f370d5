"""The `shipyard` command line: thin commands over the SDK, rendered with Rich.

Importing this package loads Typer and Rich only: each command imports the parts of Shipyard
it needs (pandas, SQLAlchemy, FastAPI ...) when it runs, so `shipyard --help` is immediate.
"""

from __future__ import annotations

import sys

import typer

from shipyard.cli import (
    _access,
    _data,
    _deploy,
    _deployments,
    _experiments,
    _features,
    _help,
    _import,
    _maintenance,
    _models,
    _monitor,
    _pipelines,
    _project,
    _runs,
    _serving,
)
from shipyard.cli._demo import demo
from shipyard.cli._info import info
from shipyard.cli._lineage import lineage_command
from shipyard.cli._server import server
from shipyard.cli._ui import ui

_help.install()

app = typer.Typer(
    name="shipyard",
    help="Shipyard: track, register, serve and monitor models, embedded or at scale.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(_experiments.app, name="experiments")
app.add_typer(_runs.app, name="runs")
app.add_typer(_models.app, name="models")
app.add_typer(_data.app, name="data")
app.add_typer(_features.app, name="features")
app.add_typer(_pipelines.app, name="pipelines")
app.add_typer(_monitor.app, name="monitor")
app.add_typer(_deploy.app, name="deploy")
app.add_typer(_deployments.app, name="deployments")
app.add_typer(_import.app, name="import")
app.command("scheduler")(_pipelines.scheduler_command)
app.command("lineage")(lineage_command)
app.add_typer(_access.users, name="users")
app.add_typer(_access.tokens, name="tokens")
app.command()(_access.audit)
app.command()(demo)
app.command()(server)
app.command()(ui)
_maintenance.register(app)
_project.register(app)
app.command()(info)
for _command in (_serving.serve, _serving.predict, _serving.build):
    app.command()(_command)
_help.one_line_summaries(app)


def _echo_version() -> None:
    import shipyard

    typer.echo(shipyard.__version__)


def _print_version(value: bool) -> None:
    if value:
        _echo_version()
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


@app.command()
def version() -> None:
    """Print the Shipyard version."""
    _echo_version()


#: Command lines answered before Typer parses anything: the usual check that Shipyard is
#: installed. Typer's parsing coerces every option through pydantic, whose import is about
#: a third of the start-up of ``shipyard version``.
_VERSION_ARGV = (["version"], ["--version"])


def main() -> None:
    """Entry point of the `shipyard` script."""
    if sys.argv[1:] in _VERSION_ARGV:
        _echo_version()
        return
    app()


__all__ = ["app", "main"]
