"""The Store protocol and its implementations; the SDK talks only to this layer.

``LocalStore`` works on the database and blob store directly; ``RestStore`` sends the same
calls to a Shipyard server (loaded on first use, so embedded use never imports the HTTP
client).

The layout is by area (tracking, lineage, blobs, registry, data, pipelines, access,
features, monitoring), three modules each:

- ``_<area>.py``: the area's slice of the Store protocol (a ``typing.Protocol``: signatures
  and docstrings) and its input checks, declared on each method with ``@checks``;
- ``_local_<area>.py``: LocalStore's translation to queries of ``shipyard.store`` and to the
  blob store;
- ``_rest_<area>.py``: RestStore's translation to HTTP requests.

``Store`` (``_protocol.py``) is the union of the area protocols. LocalStore and RestStore
derive from ``CheckedStore``, which wraps every implementing method to run the checks its
protocol method declares before it: both sides check (the client before a round trip, the
server's LocalStore on what it receives) through one declaration, so the same bad input
fails with the same error embedded and remote, and no translation can skip a check.
Translations only translate. Checks used by several areas are in ``_checks.py``.

To add a Store method: declare it, with its checks, in the area protocol, then implement it
in the area's local and REST translations (and serve it in ``shipyard.server``). Nothing else
in this package changes; tests/client pins that every declared check runs on both stores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.client._credentials import save_token
from shipyard.client._data import check_dataset_name
from shipyard.client._features import check_feature_name, spec_digest
from shipyard.client._local import LocalStore
from shipyard.client._pipelines import MAX_RUNS_PAGE, check_cron, check_timing, time_zone
from shipyard.client._protocol import Store
from shipyard.client._tracking import MAX_SAMPLED_POINTS
from shipyard.client._util import now_ms, upload_tree
from shipyard.config import Settings

if TYPE_CHECKING:
    from shipyard.client._rest import RestStore

__all__ = [
    "MAX_RUNS_PAGE",
    "MAX_SAMPLED_POINTS",
    "LocalStore",
    "RestStore",
    "Store",
    "check_cron",
    "check_dataset_name",
    "check_feature_name",
    "check_timing",
    "now_ms",
    "open_store",
    "save_token",
    "spec_digest",
    "time_zone",
    "upload_tree",
]


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
