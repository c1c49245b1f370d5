"""`shipyard server`: serve the Store protocol over HTTP to a team."""

from __future__ import annotations

import os

import typer

from shipyard.cli._render import console, friendly_errors, safe
from shipyard.config import load_settings, redact_url


def server(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", help="TCP port."),
    workers: int = typer.Option(1, "--workers", "-w", help="Worker processes."),
    auth: bool | None = typer.Option(
        None, "--auth/--no-auth", help="Require API tokens (default: SHIPYARD_SERVER_AUTH)."
    ),
    insecure_no_auth: bool = typer.Option(
        False,
        "--insecure-no-auth",
        help="Serve a non-loopback address without auth (only behind an authenticating proxy).",
    ),
    max_upload_mb: int | None = typer.Option(
        None, "--max-upload-mb", help="Largest artifact upload accepted (default 5120)."
    ),
    access_log: bool = typer.Option(False, "--access-log", help="Log every request."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning, error."),
) -> None:
    """Run the Shipyard server for a team.

    The tracking API for SDKs and CLIs that set SHIPYARD_TRACKING_URI=http://HOST:PORT."""
    from shipyard.server import check_auth, serve

    # Settings reach the worker processes through the environment.
    if auth is not None:
        os.environ["SHIPYARD_SERVER_AUTH"] = "1" if auth else "0"
    if max_upload_mb is not None:
        os.environ["SHIPYARD_MAX_UPLOAD_BYTES"] = str(max_upload_mb * 2**20)
    with friendly_errors():
        settings = load_settings()
        check_auth(settings, host, insecure_no_auth)
        mode = "tokens required" if settings.server_auth else "no authentication"
        console.print(
            f"shipyard server on [bold]http://{safe(host)}:{port}[/] ({workers} worker"
            f"{'s' if workers > 1 else ''}, {mode}); metadata {safe(redact_url(settings.db_url))}, "
            f"artifacts {safe(settings.artifacts_uri)}",
            highlight=False,
            soft_wrap=True,
        )
        serve(settings, host, port, workers, access_log=access_log, log_level=log_level)
