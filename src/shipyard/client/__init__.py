"""The Store protocol and its implementations; the SDK talks only to this layer."""

from __future__ import annotations

from shipyard.client._local import LocalStore, now_ms
from shipyard.client._protocol import Store
from shipyard.config import Settings
from shipyard.errors import ConfigError

__all__ = ["LocalStore", "Store", "now_ms", "open_store"]


def open_store(settings: Settings) -> Store:
    """The store the settings point at: a server when ``tracking_uri`` is http(s), else local."""
    if settings.is_remote:
        try:
            from shipyard.client._rest import RestStore  # type: ignore[import-not-found]
        except ImportError:
            raise ConfigError(
                f"tracking_uri {settings.tracking_uri!r} points at a server, but this version "
                "has no REST client yet; unset SHIPYARD_TRACKING_URI to work embedded",
                field="tracking_uri",
            ) from None
        store: Store = RestStore(settings)
        return store
    return LocalStore(settings)
