"""The store a command works on, and the rule that commands which only read never create one.

The default client is created on first use (so the CLI starts without loading the database
layer). Without a store, an embedded SQLite database would be created by the first command
that touches it; a command that only reads (or changes what exists) says instead that there
is no store here and how to make one. ``shipyard info`` shows which store commands use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.config import Settings, load_settings, redact_url
from shipyard.errors import NotFound

if TYPE_CHECKING:
    from shipyard.tracking import Client

__all__ = ["existing_client", "get_client", "redact_url", "require_store", "sqlite_file"]


def get_client() -> Client:
    """The process-wide default client (which creates an embedded store if there is none)."""
    from shipyard.tracking import get_client as default_client

    return default_client()


def sqlite_file(db_url: str) -> Path | None:
    """The database file of a ``sqlite:///path`` URL; None for other databases and memory."""
    if not db_url.startswith("sqlite:///"):
        return None
    path = db_url[len("sqlite:///") :].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def _missing_store(settings: Settings) -> Path | None:
    """The SQLite file the settings point at when it does not exist yet, else None."""
    if settings.is_remote:
        return None
    path = sqlite_file(settings.db_url)
    return path if path is not None and not path.exists() else None


def require_store() -> None:
    """Raise NotFound, saying how to make one, when the store commands would use does not
    exist yet (a client configured in this process counts as existing)."""
    from shipyard.tracking import configured_client

    if configured_client() is not None:
        return
    settings = load_settings()
    missing = _missing_store(settings)
    if missing is not None:
        raise NotFound(
            f"no Shipyard store here: {missing} does not exist (nothing has been tracked "
            "from this folder). Run `shipyard demo` or a script that calls "
            "shipyard.start_run(...) here to create one, or point SHIPYARD_HOME or "
            "SHIPYARD_TRACKING_URI at an existing store; `shipyard info` shows where "
            "commands look"
        )


def existing_client() -> Client:
    """The default client, refusing to create a store that does not exist yet."""
    require_store()
    return get_client()
