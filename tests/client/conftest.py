"""Fixtures of the client tests: a LocalStore and a RestStore that must not do any I/O, and a
RestStore whose server sits behind a proxy that fails requests on purpose.

The conformance suite uses the shared ``store`` fixture (tests/conftest.py). The tests of the
checking mechanism use ``offline``: both stores, set up so that a test can tell that a call
stopped before the database, the blob store or the network was reached. The retry tests use
``flaky``: the live server answering from a LocalStore the test can read directly, reached
through ``fault_proxy`` (tests/support/proxy.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from shipyard.client import LocalStore, RestStore
from shipyard.config import Settings, load_settings
from shipyard.errors import ServiceUnavailable
from tests.support.proxy import Answer, FaultProxy, Planned
from tests.support.server import LiveServer


@dataclass
class Offline:
    """A LocalStore whose database and blob store are never opened, and a RestStore whose
    requests are recorded (and refused) instead of sent."""

    local: LocalStore
    rest: RestStore
    sent: list[str] = field(default_factory=list)

    def untouched(self) -> bool:
        """True while neither store has done any I/O."""
        return self.local._engine is None and self.local._blobs is None and not self.sent


@pytest.fixture
def offline(tmp_path: Path) -> Iterator[Offline]:
    """Both stores, with nothing reached yet; a RestStore request fails the call."""
    home = tmp_path / ".shipyard"
    local = LocalStore(load_settings(home=home))
    rest = RestStore(load_settings(home=home, tracking_uri="http://127.0.0.1:9", http_retries=0))
    found = Offline(local, rest)

    def refuse(request: httpx.Request) -> None:
        found.sent.append(f"{request.method} {request.url.path}")
        raise AssertionError(f"a request was sent: {request.method} {request.url}")

    rest.http.on_request.append(refuse)
    yield found
    rest.close()


#: What the server answers while its database is unreachable.
UNAVAILABLE = Answer(
    503,
    orjson.dumps(
        ServiceUnavailable("the metadata database postgresql://db/shipyard failed").to_dict()
    ),
    {"Content-Type": "application/json", "Retry-After": "0"},
)


@dataclass
class Flaky:
    """A RestStore (``rest``, made by ``connect``) to the live server through ``proxy``, whose
    failures ``faults`` plans; ``served`` is the server's own store, to see what was written."""

    served: LocalStore
    faults: Planned
    proxy: FaultProxy
    connect: Callable[..., RestStore]
    rest: RestStore


@pytest.fixture
def flaky(live_server: LiveServer, sqlite_settings: Settings, fault_proxy: Any) -> Iterator[Flaky]:
    """The live server on a fresh SQLite store, behind a proxy that forwards everything until
    the test plans failures (503s like a server whose database is down, by default)."""
    served = LocalStore(sqlite_settings)
    backend = live_server.serve(served)
    faults = Planned(error=UNAVAILABLE)
    proxy = fault_proxy(live_server.url, faults)
    made: list[RestStore] = []

    def connect(**overrides: Any) -> RestStore:
        options: dict[str, Any] = {"http_retry_seconds": 30, **overrides}
        store = RestStore(
            load_settings(home=sqlite_settings.home, tracking_uri=proxy.url, **options)
        )
        made.append(store)
        return store

    yield Flaky(served, faults, proxy, connect, connect())
    for store in made:
        store.close()
    backend.close()
