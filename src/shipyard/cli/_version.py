"""`shipyard version` (and `--version`): the installed Shipyard's version.

Light on purpose: the entry point answers ``shipyard version`` with it before Typer, Click
or Rich are imported.
"""

from __future__ import annotations

import sys


def echo_version() -> None:
    """Print ``shipyard.__version__`` on its own line."""
    import shipyard

    sys.stdout.write(f"{shipyard.__version__}\n")
    sys.stdout.flush()


def version() -> None:
    """Print the Shipyard version."""
    echo_version()
