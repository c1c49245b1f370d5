"""The store fsck and gc work on: always the database and blob store themselves."""

from __future__ import annotations

from shipyard.client import LocalStore
from shipyard.config import Settings, load_settings
from shipyard.errors import ConfigError


def open_local(settings: Settings | None = None) -> LocalStore:
    """A LocalStore over the configured database and blob store.

    Raises:
        ConfigError: The settings point at a Shipyard server (``tracking_uri``): maintenance
            needs the database and blob store, so it runs where the server runs, with its
            ``SHIPYARD_DB_URL`` and ``SHIPYARD_ARTIFACTS_URI``.
    """
    settings = settings or load_settings()
    if settings.is_remote:
        raise ConfigError(
            f"fsck and gc work on the database and blob store directly, not through the "
            f"server at {settings.tracking_uri}: run them on the server's host with its "
            "SHIPYARD_DB_URL and SHIPYARD_ARTIFACTS_URI (and no SHIPYARD_TRACKING_URI)",
            field="tracking_uri",
        )
    return LocalStore(settings)
