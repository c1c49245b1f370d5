"""The `shipyard` command line: thin commands over the SDK, rendered with Rich.

Importing this package loads nothing but itself: :func:`main` answers ``shipyard version``
before Typer is imported, and :data:`app` (the Typer application, built on first access)
imports each command's module only when that command runs, so ``shipyard --help`` reads a
table of names and summaries (``_app.py``). Each command imports the parts of Shipyard it
needs (pandas, SQLAlchemy, FastAPI ...) when it runs.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.cli._app import app as app

#: Command lines answered before anything else is imported: the usual check that Shipyard
#: is installed.
_VERSION_ARGV = (["version"], ["--version"])


def __getattr__(name: str) -> Any:
    """``app``, imported on first access (the import builds the root command)."""
    if name == "app":
        from shipyard.cli._app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Entry point of the `shipyard` script."""
    if sys.argv[1:] in _VERSION_ARGV:
        from shipyard.cli._version import echo_version

        echo_version()
        return
    from shipyard.cli._app import app

    app()


__all__ = ["app", "main"]
