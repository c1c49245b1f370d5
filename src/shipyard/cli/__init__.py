"""The `shipyard` command line: thin commands over the SDK, rendered with Rich."""

from __future__ import annotations

import typer

from shipyard.cli import (
    _access,
    _data,
    _deploy,
    _experiments,
    _features,
    _models,
    _monitor,
    _pipelines,
    _runs,
    _serving,
)
from shipyard.cli._demo import demo
from shipyard.cli._lineage import lineage_command
from shipyard.cli._server import server

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
app.command("scheduler")(_pipelines.scheduler_command)
app.command("lineage")(lineage_command)
app.add_typer(_access.users, name="users")
app.add_typer(_access.tokens, name="tokens")
app.command()(_access.audit)
app.command()(demo)
app.command()(server)
for _command in (_serving.serve, _serving.predict, _serving.build):
    app.command()(_command)


@app.command()
def version() -> None:
    """Print the Shipyard version."""
    import shipyard

    typer.echo(shipyard.__version__)


def main() -> None:
    """Entry point of the `shipyard` script."""
    app()


__all__ = ["app", "main"]
