"""Fixtures of the demo tests: a fresh directory with no configured client (as a user runs
`shipyard demo`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shipyard.tracking import _fluent


def _drop_default_client() -> None:
    if _fluent._default is not None:
        _fluent._default.close()
        _fluent._default = None


@pytest.fixture
def default_client() -> Iterator[None]:
    """No configured client: the CLI builds its default one, as for a user in a fresh
    directory (the autouse fixture made that ``<tmp>/.shipyard``)."""
    _drop_default_client()
    yield
    _drop_default_client()
