"""The placement plugin: the tests of a costly per-worker fixture share one xdist group, and
the session starts with its longest work (soak, groups, slow tests), short tests last."""

from __future__ import annotations

import pytest

from tests.support import placement

SOURCE = """
import pytest

@pytest.fixture
def ray_local(): ...

@pytest.fixture
def restartable_redis(): ...

@pytest.fixture
def through(ray_local): ...

def test_plain(): ...

@pytest.mark.slow
def test_slow(): ...

def test_ray(through): ...

@pytest.mark.slow
@pytest.mark.soak
def test_soak(): ...

def test_redis(restartable_redis): ...

@pytest.mark.xdist_group("mine")
def test_own_group(ray_local): ...
"""


def _group(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("xdist_group")
    return None if marker is None else str(marker.args[0])


def test_costly_fixtures_group_their_tests_and_long_work_starts_first(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nmarkers =\n    slow\n    soak\n")
    items = pytester.getitems(SOURCE)
    module = items[0].nodeid.split("::")[0]
    placement.pytest_collection_modifyitems(items)
    assert [(item.name, _group(item)) for item in items] == [
        ("test_soak", None),
        ("test_ray", "ray"),  # through another fixture
        ("test_redis", module),  # a module-scoped server: one group per module
        ("test_own_group", "mine"),  # a group the test chose is kept
        ("test_slow", None),
        ("test_plain", None),
    ]
