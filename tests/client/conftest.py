"""Fixtures of the client tests: a LocalStore and a RestStore that must not do any I/O.

The conformance suite uses the shared ``store`` fixture (tests/conftest.py). The tests of the
checking mechanism use ``offline``: both stores, set up so that a test can tell that a call
stopped before the database, the blob store or the network was reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from shipyard.client import LocalStore, RestStore
from shipyard.config import load_settings


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

    rest.http.client.event_hooks["request"].append(refuse)
    yield found
    rest.close()
