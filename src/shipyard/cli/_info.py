"""`shipyard info`: which store, server and project commands use here, and the version."""

from __future__ import annotations

import typer

from shipyard.cli._render import console, friendly_errors, safe
from shipyard.cli._store import redact_url, sqlite_file
from shipyard.config import load_settings


def info() -> None:
    """Show which store, server and project commands run here use.

    The home folder, the database URL (password hidden), whether the store exists yet, the
    artifact root, the server, the project and the version."""
    import shipyard

    with friendly_errors():
        settings = load_settings()
    path = sqlite_file(settings.db_url)
    if settings.is_remote:
        state = "on the server"
    elif path is None:
        state = "external database"
    elif path.exists():
        state = "exists"
    else:
        state = "not created yet (the first run logged here creates it)"
    rows = [
        ("version", shipyard.__version__),
        ("home", str(settings.home)),
        ("database", redact_url(settings.db_url)),
        ("store", state),
        ("artifacts", redact_url(settings.artifacts_uri)),
        ("server", redact_url(settings.tracking_uri) or "none (embedded store)"),
        ("project", settings.project),
        ("token", "set" if settings.token else "not set"),
    ]
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        console.print(f"{key:<{width}}  {safe(value)}", highlight=False, soft_wrap=True)
    if settings.is_remote:
        console.print(
            "[dim]the server decides where metadata and artifacts live; the database and "
            "artifacts above apply to commands that run embedded[/]"
        )
    raise typer.Exit(0)
