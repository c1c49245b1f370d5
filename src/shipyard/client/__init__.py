"""The Store protocol and its implementations; the SDK talks only to this layer.

``LocalStore`` works on the database and blob store directly; ``RestStore`` sends the same
calls to a Shipyard server (loaded on first use, so embedded use never imports the HTTP
client).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.client._local import LocalStore, now_ms
from shipyard.client._protocol import Store
from shipyard.config import Settings

if TYPE_CHECKING:
    from shipyard.client._rest import RestStore

__all__ = ["LocalStore", "RestStore", "Store", "now_ms", "open_store"]


def __getattr__(name: str) -> Any:
    if name == "RestStore":
        from shipyard.client._rest import RestStore

        return RestStore
    raise AttributeError(f"module 'shipyard.client' has no attribute {name!r}")


def open_store(settings: Settings) -> Store:
    """The store the settings point at: a server when ``tracking_uri`` is http(s), else local."""
    if settings.is_remote:
        from shipyard.client._rest import RestStore

        store: Store = RestStore(settings)
        return store
    return LocalStore(settings)
